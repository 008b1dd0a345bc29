/**
 * Users and API keys: creation, password checks, role changes, keys shown once and stored hashed.
 */
import { z } from 'zod';
import { roles, type Role } from '../config.ts';
import type { Clock } from '../clock.ts';
import { isUniqueViolation, type Db } from '../db.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { last4, newSecret, sha256Hex } from '../lib/secrets.ts';
import type { PasswordHasher } from './passwords.ts';

export const API_KEY_PREFIX = 'dlk';

export interface SessionUser {
  id: number;
  username: string;
  role: Role;
}

export const usernameSchema = z
  .string()
  .trim()
  .min(1, 'Enter a username.')
  .max(64, 'Usernames are at most 64 characters.')
  .regex(/^[A-Za-z0-9._@-]+$/, 'Usernames may contain letters, digits and . _ @ - only.');
export const passwordSchema = z
  .string()
  .min(8, 'Passwords need at least 8 characters.')
  .max(1024, 'Passwords are at most 1024 characters.');
export const roleSchema = z.enum(roles as [Role, ...Role[]], { error: 'Choose admin, editor or analyst.' });

const messages = {
  taken: (username: string) => `The username "${username}" is already taken.`,
  lastAdmin: 'At least one active admin must remain.',
};

export function createUserService(deps: { db: Db; hasher: PasswordHasher; clock: Clock }) {
  const { db, hasher, clock } = deps;
  // Hashing a throwaway password for unknown users keeps "no such user" as slow as "wrong password".
  const dummyHash = hasher.hash('not-a-real-password');

  const toSessionUser = (u: { id: number; username: string; role: string }): SessionUser => ({
    id: u.id,
    username: u.username,
    role: u.role as Role,
  });

  async function assertAnotherAdminRemains(userId: number) {
    const admins = await db.user.count({ where: { role: 'admin', disabled: false, id: { not: userId } } });
    if (admins === 0) throw badRequest(messages.lastAdmin, { code: 'LAST_ADMIN' });
  }

  return {
    async createUser(input: { username: string; password: string; role?: Role }): Promise<SessionUser> {
      const username = usernameSchema.parse(input.username);
      const password = passwordSchema.parse(input.password);
      const role = roleSchema.parse(input.role ?? 'admin');
      try {
        const user = await db.user.create({
          data: { username, role, passwordHash: await hasher.hash(password) },
        });
        return toSessionUser(user);
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(messages.taken(username), { code: 'USERNAME_TAKEN' });
        throw error;
      }
    },

    /** The user for these credentials, or null; disabled users cannot sign in. */
    async authenticate(username: string, password: string): Promise<SessionUser | null> {
      const user = await db.user.findUnique({ where: { username: username.trim() } });
      if (!user || user.disabled) {
        await hasher.verify(password, await dummyHash);
        return null;
      }
      if (!(await hasher.verify(password, user.passwordHash))) return null;
      const data: { lastLoginAt: Date; passwordHash?: string } = { lastLoginAt: clock.now() };
      if (hasher.needsRehash(user.passwordHash)) data.passwordHash = await hasher.hash(password);
      await db.user.update({ where: { id: user.id }, data });
      return toSessionUser(user);
    },

    /** The current state of a signed-in user (role changes and disabling apply at once). */
    async findActiveUser(id: number): Promise<SessionUser | null> {
      const user = await db.user.findUnique({ where: { id } });
      return user && !user.disabled ? toSessionUser(user) : null;
    },

    listUsers() {
      return db.user.findMany({
        orderBy: { username: 'asc' },
        select: { id: true, username: true, role: true, disabled: true, createdAt: true, lastLoginAt: true },
      });
    },

    async updateUser(id: number, changes: { role?: Role; disabled?: boolean; password?: string }) {
      const user = await db.user.findUnique({ where: { id } });
      if (!user) throw notFound('This user does not exist.');
      const losesAdmin =
        user.role === 'admin' && ((changes.role && changes.role !== 'admin') || changes.disabled === true);
      if (losesAdmin) await assertAnotherAdminRemains(id);
      const data: { role?: Role; disabled?: boolean; passwordHash?: string } = {};
      if (changes.role) data.role = roleSchema.parse(changes.role);
      if (changes.disabled !== undefined) data.disabled = changes.disabled;
      if (changes.password) data.passwordHash = await hasher.hash(passwordSchema.parse(changes.password));
      // A disabled user's sessions and API keys stop working at their next request
      // (findActiveUser, authenticateApiKey), so nothing else needs revoking here.
      await db.user.update({ where: { id }, data });
    },

    async deleteUser(id: number) {
      const user = await db.user.findUnique({ where: { id } });
      if (!user) throw notFound('This user does not exist.');
      if (user.role === 'admin') await assertAnotherAdminRemains(id);
      await db.user.delete({ where: { id } });
    },

    /** Creates an API key for a user; the returned secret is never stored or shown again. */
    async createApiKey(username: string, name = 'default'): Promise<{ id: number; key: string }> {
      const user = await db.user.findUnique({ where: { username } });
      if (!user) throw notFound(`There is no user "${username}".`, { code: 'USER_NOT_FOUND' });
      const key = newSecret(API_KEY_PREFIX);
      const row = await db.apiKey.create({
        data: { userId: user.id, name: name.slice(0, 100), hash: sha256Hex(key), last4: last4(key) },
      });
      return { id: row.id, key };
    },

    listApiKeys(userId: number) {
      return db.apiKey.findMany({
        where: { userId, revokedAt: null },
        orderBy: { createdAt: 'desc' },
        select: { id: true, name: true, last4: true, createdAt: true, lastUsedAt: true },
      });
    },

    async revokeApiKey(userId: number, keyId: number) {
      const { count } = await db.apiKey.updateMany({
        where: { id: keyId, userId, revokedAt: null },
        data: { revokedAt: clock.now() },
      });
      if (count === 0) throw notFound('This API key does not exist.');
    },

    /** The owner of a bearer key, or null for an unknown, revoked or disabled one. */
    async authenticateApiKey(key: string): Promise<SessionUser | null> {
      if (!key.startsWith(`${API_KEY_PREFIX}_`) || key.length > 200) return null;
      const row = await db.apiKey.findUnique({ where: { hash: sha256Hex(key) }, include: { user: true } });
      if (!row || row.revokedAt || row.user.disabled) return null;
      const now = clock.now();
      // Written at most once a minute: this is information, not a counter.
      if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
        await db.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: now } });
      }
      return toSessionUser(row.user);
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
