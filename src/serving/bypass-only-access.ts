/**
 * The access policy without tokens: everybody may download, people whose role is in
 * TOKEN_BYPASS_ROLES are not counted, and a download that requires a token refuses everybody
 * else (tokens/ provides the policy that checks and consumes tokens).
 */
import type { Role } from '../config.ts';
import { forbidden } from '../errors.ts';
import type { AccessGrant, AccessPolicy } from './access.ts';

export function isBypass(user: { role: Role } | undefined, bypassRoles: readonly Role[]): boolean {
  return !!user && bypassRoles.includes(user.role);
}

const nothingToConsume = async () => undefined;
// Shared, frozen grants: this runs for every download.
export const OPEN_GRANT: AccessGrant = Object.freeze({ bypass: false, consume: nothingToConsume });
export const BYPASS_GRANT: AccessGrant = Object.freeze({ bypass: true, consume: nothingToConsume });

export function createBypassOnlyAccess(bypassRoles: readonly Role[]): AccessPolicy {
  return {
    check(download, request) {
      const bypass = isBypass(request.user, bypassRoles);
      if (download.requiresToken && !bypass) {
        throw forbidden('This download needs a link with a token.', { code: 'TOKEN_REQUIRED' });
      }
      return bypass ? BYPASS_GRANT : OPEN_GRANT;
    },
  };
}
