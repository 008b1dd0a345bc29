import { describe, expect, test } from 'vitest';
import { createPasswordHasher } from '../../src/auth/passwords.ts';

describe('password hashing', () => {
  test('the default cost is OWASP scrypt (N=2^17, r=8, p=1) with a random salt', async () => {
    const hasher = createPasswordHasher(2 ** 17);
    const a = await hasher.hash('hunter2hunter2');
    const b = await hasher.hash('hunter2hunter2');
    expect(a).toMatch(/^scrypt\$131072\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(a).not.toBe(b);
    expect(await hasher.verify('hunter2hunter2', a)).toBe(true);
    expect(await hasher.verify('hunter2hunter3', a)).toBe(false);
  });

  test('a hash made with other parameters still verifies and asks to be rehashed', async () => {
    const cheap = createPasswordHasher(1024);
    const strong = createPasswordHasher(2 ** 17);
    const old = await cheap.hash('a long password');
    expect(await strong.verify('a long password', old)).toBe(true);
    expect(strong.needsRehash(old)).toBe(true);
    expect(cheap.needsRehash(old)).toBe(false);
  });

  test('garbage in the stored hash is a failed check, not an exception', async () => {
    const hasher = createPasswordHasher(1024);
    expect(await hasher.verify('x', 'not-a-hash')).toBe(false);
    expect(await hasher.verify('x', '')).toBe(false);
  });
});
