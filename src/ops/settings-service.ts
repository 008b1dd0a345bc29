/** Small persistent values the app keeps for itself (the Setting table). */
import crypto from 'node:crypto';
import { isUniqueViolation, type Db } from '../db.ts';

export async function getSetting(db: Db, key: string): Promise<string | undefined> {
  return (await db.setting.findUnique({ where: { key } }))?.value;
}

/**
 * The session cookie secret: SESSION_SECRET when set, otherwise one generated at first start and
 * kept in the database, so restarts and every instance sharing the database sign alike.
 */
export async function resolveSessionSecret(db: Db, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  const key = 'session.secret';
  const existing = await getSetting(db, key);
  if (existing) return existing;
  try {
    await db.setting.create({ data: { key, value: crypto.randomBytes(48).toString('base64url') } });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error; // another instance created it first
  }
  return (await getSetting(db, key))!;
}
