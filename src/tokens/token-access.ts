/**
 * Who may download (serving/access.ts, the seam): bypass roles without a token and uncounted;
 * downloads that need a token only with a valid one. Refusals say why, for the person holding
 * the link: 403 when no token was given, 404 for an unknown or malformed one (the same page as an
 * unknown download: nothing tells whether a token exists), 410 when it is used up, expired or
 * revoked, 429 after a burst of wrong tokens from one client.
 */
import type { Clock } from '../clock.ts';
import type { Config } from '../config.ts';
import { AppError, forbidden, notFound, tooManyRequests } from '../errors.ts';
import { createRateWindow } from '../lib/rate-window.ts';
import type { AccessGrant, AccessPolicy, AccessRequest } from '../serving/access.ts';
import { BYPASS_GRANT, OPEN_GRANT, isBypass } from '../serving/bypass-only-access.ts';
import type { CountingDecision } from '../serving/counting.ts';
import type { ServableDownload } from '../serving/download-resolver.ts';
import type { TokenService } from './token-service.ts';
import { usedUp, type TokenRefusal, type TokenState, type TokenValidatorRegistry } from './token-validators.ts';

function refuse(refusal: TokenRefusal, tokenId: number): AppError {
  return new AppError(refusal.status ?? 410, refusal.message, { code: refusal.code, details: { tokenId } });
}

export function createTokenAccess(deps: {
  tokens: TokenService;
  validators: TokenValidatorRegistry;
  clock: Clock;
  config: Pick<Config, 'tokens'>;
}): AccessPolicy {
  const { tokens, validators, clock, config } = deps;
  const wrongTokens = createRateWindow({ limit: config.tokens.failureLimit, windowMs: config.tokens.failureWindowMs, clock });

  /** A resume of a download this token paid for, within the grace window after it. */
  const paidRecently = (token: TokenState) =>
    token.uses > 0 && !!token.lastUsedAt && clock.now().getTime() - token.lastUsedAt.getTime() < config.tokens.resumeGraceMs;

  async function grantFor(download: ServableDownload, request: AccessRequest): Promise<AccessGrant> {
    const blockedFor = wrongTokens.retryAfter(request.clientKey);
    if (blockedFor > 0) {
      throw tooManyRequests('Too many wrong links from this address. Try again later.', {
        code: 'TOKEN_RATE_LIMITED',
        headers: { 'Retry-After': String(blockedFor) },
      });
    }
    if (!request.token) throw forbidden('This download needs a link with a token.', { code: 'TOKEN_REQUIRED' });
    const token = await tokens.findBySecret(request.token, download.id);
    if (!token) {
      wrongTokens.hit(request.clientKey);
      throw notFound('There is no download at this address.', { code: 'TOKEN_INVALID' });
    }
    const context = { token, download, request: { clientKey: request.clientKey } };
    const resumeInGrace = request.isResume && paidRecently(token);
    // A resume of a paid download may outlive the limit and the validity window, not a revocation.
    const refusal = validators.check(context, resumeInGrace ? ['max-downloads', 'validity', 'expiry'] : []);
    if (refusal) throw refuse(refusal, token.id);

    let consumed = false;
    return {
      bypass: false,
      tokenId: token.id,
      async consume(decision: CountingDecision) {
        // Counted downloads use the token. So does a Range request that resumes nothing this
        // token paid for: "any Range request is free" would make the limit meaningless
        // (HEAD, then Range: bytes=1-). HEAD, 304 and prefetches do not.
        const uses = decision.counted || (decision.outcome === 'resumed' && !resumeInGrace);
        if (!uses) return;
        if (!(await tokens.consume(token))) {
          // Another request took the last use (or the clock passed the expiry) meanwhile.
          const latest = (await tokens.findById(token.id)) ?? token;
          throw refuse(validators.check({ ...context, token: latest }) ?? usedUp(latest), token.id);
        }
        consumed = true;
      },
      refund() {
        if (consumed) void tokens.refund(token.id).catch(() => undefined);
      },
    };
  }

  return {
    check(download, request) {
      if (isBypass(request.user, config.tokens.bypassRoles)) return BYPASS_GRANT;
      if (!download.requiresToken) return OPEN_GRANT;
      return grantFor(download, request);
    },
  };
}
