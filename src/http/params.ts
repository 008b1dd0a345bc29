import { notFound } from '../errors.ts';

/** A positive integer id from a route parameter; anything else is a page that does not exist. */
export function idParam(value: unknown): number {
  if (typeof value !== 'string' || !/^[1-9]\d{0,9}$/.test(value)) throw notFound();
  const id = Number(value);
  if (id > 2 ** 31 - 1) throw notFound();
  return id;
}
