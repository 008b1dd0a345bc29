/**
 * Download tokens: issued per download with a secret shown once (256 random bits, stored as
 * SHA-256 + last 4 characters), looked up by hash, and consumed by ONE conditional UPDATE whose
 * affected-row count decides — never read-then-write — so concurrent requests can never use a
 * token more often than its limit.
 */
import { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db.ts';
import { notFound } from '../errors.ts';
import { last4, newSecret, sha256Hex } from '../lib/secrets.ts';
import type { TokenState } from './token-validators.ts';

export const TOKEN_PREFIX = 'dlt';
const TOKEN_PATTERN = /^dlt_[A-Za-z0-9_-]{43}$/;
const DAY = 86_400_000;

export const issueInput = z.object({
  maxDownloads: z.coerce.number().int().min(-1_000_000).max(1_000_000).optional(),
  validityDays: z.coerce.number().int().min(-100_000).max(100_000).optional(),
  expiresAt: z
    .union([z.string(), z.date(), z.null()])
    .transform((v, ctx) => {
      if (v === null || v === '') return null;
      const text = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(v.trim()) ? `${v.trim()}Z` : v;
      const date = new Date(text);
      if (Number.isNaN(date.getTime())) {
        ctx.addIssue({ code: 'custom', message: 'The expiry must be a date like 2026-05-01T10:00 (UTC).' });
        return z.NEVER;
      }
      return date;
    })
    .optional(),
  note: z.string().trim().max(500, 'Notes are at most 500 characters.').optional(),
  count: z.coerce.number().int().min(1, 'Issue at least one token.').max(500, 'At most 500 tokens at once.').optional(),
});
export type IssueInput = z.input<typeof issueInput>;

export type TokenStatus = 'active' | 'used up' | 'expired' | 'revoked';

export function tokenStatus(token: TokenState, now: Date): TokenStatus {
  if (token.revokedAt) return 'revoked';
  if ((token.expiresAt && token.expiresAt <= now) || (token.validUntil && token.validUntil <= now)) return 'expired';
  if (token.maxDownloads > 0 && token.uses >= token.maxDownloads) return 'used up';
  return 'active';
}

export function createTokenService(deps: { db: Db; clock: Clock; config: Pick<Config, 'tokens'> }) {
  const { db, clock, config } = deps;

  return {
    isWellFormed: (secret: string) => TOKEN_PATTERN.test(secret),

    /**
     * Issues tokens for a download; the policy is the input's, else the download's overrides,
     * else the settings. Returns the secrets — the only time they exist outside the request.
     */
    async issue(downloadId: number, raw: IssueInput, issuedById?: number) {
      const input = issueInput.parse(raw);
      const download = await db.download.findUnique({ where: { id: downloadId } });
      if (!download) throw notFound('This download does not exist.');
      const maxDownloads = input.maxDownloads ?? download.tokenMaxDownloads ?? config.tokens.maxDownloads;
      const validityDays = input.validityDays ?? download.tokenValidityDays ?? config.tokens.validityDays;
      const secrets = Array.from({ length: input.count ?? 1 }, () => newSecret(TOKEN_PREFIX));
      const rows = await db.$transaction(
        secrets.map((secret) =>
          db.token.create({
            data: {
              downloadId,
              hash: sha256Hex(secret),
              last4: last4(secret),
              maxDownloads,
              validityDays,
              expiresAt: input.expiresAt ?? null,
              note: input.note ?? '',
              issuedById: issuedById ?? null,
              createdAt: clock.now(),
            },
          }),
        ),
      );
      return rows.map((row, i) => ({ row, secret: secrets[i]! }));
    },

    /** The token for a presented secret, or null (unknown, malformed or another download's). */
    async findBySecret(secret: string, downloadId: number) {
      if (!TOKEN_PATTERN.test(secret)) return null;
      const token = await db.token.findUnique({ where: { hash: sha256Hex(secret) } });
      return token && token.downloadId === downloadId ? token : null;
    },

    findById: (id: number) => db.token.findUnique({ where: { id } }),

    listFor: (downloadId: number) => db.token.findMany({ where: { downloadId }, orderBy: { createdAt: 'desc' } }),

    /**
     * Uses the token once if — at this instant, in the database — it is not revoked, not
     * expired, and has a use left. The first use starts the validity window. Returns whether a
     * use was taken; `false` means a concurrent request took the last one (or it expired).
     */
    async consume(token: TokenState): Promise<boolean> {
      const now = clock.now();
      const validUntil = token.validityDays > 0 ? new Date(now.getTime() + token.validityDays * DAY) : null;
      const [taken] = await db.$transaction([
        db.token.updateMany({
          where: {
            id: token.id,
            revokedAt: null,
            OR: [{ maxDownloads: { lte: 0 } }, { uses: { lt: db.token.fields.maxDownloads } }],
            AND: [{ OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] }, { OR: [{ validUntil: null }, { validUntil: { gt: now } }] }],
          },
          data: { uses: { increment: 1 }, lastUsedAt: now },
        }),
        // The first use only: idempotent, so whichever request came first sets the window.
        db.token.updateMany({
          where: { id: token.id, firstUsedAt: null, uses: { gt: 0 } },
          data: { firstUsedAt: now, validUntil },
        }),
      ]);
      return taken.count === 1;
    },

    /** Gives back a use whose download never reached the client (retracted event). */
    async refund(tokenId: number): Promise<void> {
      await db.token.updateMany({ where: { id: tokenId, uses: { gt: 0 } }, data: { uses: { decrement: 1 } } });
    },

    async revoke(id: number, downloadId?: number): Promise<void> {
      const { count } = await db.token.updateMany({
        where: { id, ...(downloadId ? { downloadId } : {}), revokedAt: null },
        data: { revokedAt: clock.now() },
      });
      if (count === 0 && !(await db.token.findFirst({ where: { id, ...(downloadId ? { downloadId } : {}) } }))) {
        throw notFound('This token does not exist.');
      }
    },

    /** More uses, more days, a later expiry; also lifts a revocation. */
    async extend(id: number, downloadId: number, changes: { addUses?: number; addDays?: number; expiresAt?: Date | null }) {
      const token = await db.token.findFirst({ where: { id, downloadId } });
      if (!token) throw notFound('This token does not exist.');
      const add = (date: Date | null, days: number) => (date ? new Date(date.getTime() + days * DAY) : null);
      await db.token.update({
        where: { id },
        data: {
          maxDownloads: changes.addUses && token.maxDownloads > 0 ? token.maxDownloads + changes.addUses : undefined,
          validityDays: changes.addDays && token.validityDays > 0 ? token.validityDays + changes.addDays : undefined,
          validUntil: changes.addDays ? add(token.validUntil, changes.addDays) : undefined,
          expiresAt: changes.expiresAt !== undefined ? changes.expiresAt : undefined,
          revokedAt: null,
        },
      });
    },

    /** Back to unused: no uses, no validity window started. */
    async reset(id: number, downloadId: number) {
      const { count } = await db.token.updateMany({
        where: { id, downloadId },
        data: { uses: 0, firstUsedAt: null, validUntil: null, lastUsedAt: null, revokedAt: null },
      });
      if (count === 0) throw notFound('This token does not exist.');
    },
  };
}

export type TokenService = ReturnType<typeof createTokenService>;
