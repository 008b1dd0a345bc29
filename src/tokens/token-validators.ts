/**
 * Token validators (abstract.downloadmarshal's idea): every validator must pass, and each one
 * that fails says why in a reason code and a sentence for the person holding the link. The
 * built-ins check revocation, the absolute expiry, the validity window and the number of uses;
 * extensions register their own with `registerTokenValidator` (README "Tokens").
 */
import type { Clock } from '../clock.ts';

export interface TokenState {
  id: number;
  downloadId: number;
  maxDownloads: number;
  validityDays: number;
  expiresAt: Date | null;
  validUntil: Date | null;
  uses: number;
  firstUsedAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  note: string;
}

export interface ValidationContext {
  token: TokenState;
  download: { id: number; slug: string; title: string };
  now: Date;
  /** the request, as far as validators may need it */
  request: { clientKey: string; userAgent?: string };
}

export interface TokenRefusal {
  /** UPPER_SNAKE reason code, stored (lower-cased) on the event row */
  code: string;
  message: string;
  /** 410 (gone for good) unless said otherwise */
  status?: number;
}

export interface TokenValidator {
  name: string;
  validate(context: ValidationContext): TokenRefusal | null;
}

const dateText = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

export const revokedValidator: TokenValidator = {
  name: 'revoked',
  validate: ({ token }) => (token.revokedAt ? { code: 'TOKEN_REVOKED', message: 'This link has been revoked.' } : null),
};

export const expiryValidator: TokenValidator = {
  name: 'expiry',
  validate: ({ token, now }) =>
    token.expiresAt && token.expiresAt <= now ? { code: 'TOKEN_EXPIRED', message: `This link expired on ${dateText(token.expiresAt)}.` } : null,
};

/** Validity in days, counted from the token's first download (the seed's documented meaning). */
export const validityValidator: TokenValidator = {
  name: 'validity',
  validate: ({ token, now }) =>
    token.validUntil && token.validUntil <= now ? { code: 'TOKEN_EXPIRED', message: `This link expired on ${dateText(token.validUntil)}.` } : null,
};

export function usedUp(token: Pick<TokenState, 'uses' | 'maxDownloads'>): TokenRefusal {
  const times = Math.max(token.uses, token.maxDownloads);
  return { code: 'TOKEN_USED_UP', message: `This link has been used ${times} ${times === 1 ? 'time' : 'times'}, its limit.` };
}

export const maxDownloadsValidator: TokenValidator = {
  name: 'max-downloads',
  validate: ({ token }) => (token.maxDownloads > 0 && token.uses >= token.maxDownloads ? usedUp(token) : null),
};

export function createTokenValidatorRegistry(clock: Clock) {
  const validators: TokenValidator[] = [revokedValidator, expiryValidator, validityValidator, maxDownloadsValidator];
  return {
    /** Adds a validator that every token download must pass from now on. */
    register(validator: TokenValidator): void {
      if (validators.some((v) => v.name === validator.name)) throw new Error(`a token validator named "${validator.name}" exists`);
      validators.push(validator);
    },
    /** The first refusal, or null when every validator passes. `except` skips named ones. */
    check(context: Omit<ValidationContext, 'now'>, except: readonly string[] = []): TokenRefusal | null {
      const full = { ...context, now: clock.now() };
      for (const validator of validators) {
        if (except.includes(validator.name)) continue;
        const refusal = validator.validate(full);
        if (refusal) return refusal;
      }
      return null;
    },
    names: () => validators.map((v) => v.name),
  };
}

export type TokenValidatorRegistry = ReturnType<typeof createTokenValidatorRegistry>;
