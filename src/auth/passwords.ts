/**
 * Password hashing with scrypt at OWASP's parameters (N=2^17, r=8, p=1). The parameters are
 * stored with each hash, so raising them later rehashes at the next login (`needsRehash`).
 */
import crypto from 'node:crypto';
import { promisify } from 'node:util';

const scrypt = promisify(crypto.scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: crypto.ScryptOptions,
) => Promise<Buffer>;

const KEY_LENGTH = 32;
const R = 8;
const P = 1;

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  needsRehash(stored: string): boolean;
}

export function createPasswordHasher(n: number): PasswordHasher {
  // Node refuses scrypt above 32 MiB of memory unless told: 128 * N * r bytes are needed.
  const derive = (password: string, salt: Buffer, params: { n: number; r: number; p: number }) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, {
      N: params.n,
      r: params.r,
      p: params.p,
      maxmem: 256 * params.n * params.r,
    });

  return {
    async hash(password) {
      const salt = crypto.randomBytes(16);
      const key = await derive(password, salt, { n, r: R, p: P });
      return ['scrypt', n, R, P, salt.toString('base64'), key.toString('base64')].join('$');
    },
    async verify(password, stored) {
      const parsed = parse(stored);
      if (!parsed || parsed.n > 2 ** 20) return false;
      const key = await derive(password, parsed.salt, parsed);
      return key.length === parsed.key.length && crypto.timingSafeEqual(key, parsed.key);
    },
    needsRehash(stored) {
      const parsed = parse(stored);
      return !parsed || parsed.n !== n || parsed.r !== R || parsed.p !== P;
    },
  };
}

function parse(stored: string) {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return undefined;
  return { n: Number(n), r: Number(r), p: Number(p), salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') };
}
