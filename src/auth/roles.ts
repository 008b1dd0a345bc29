import type { Role } from '../config.ts';

export type { Role };

/** What each role may do. Admins may do everything; editors manage downloads; analysts read analytics. */
const grants: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(['downloads:manage', 'analytics:view', 'users:manage', 'webhooks:manage']),
  editor: new Set(['downloads:manage', 'analytics:view']),
  analyst: new Set(['analytics:view']),
};

export type Permission = 'downloads:manage' | 'analytics:view' | 'users:manage' | 'webhooks:manage';

export function can(role: Role | undefined, permission: Permission): boolean {
  return role !== undefined && grants[role].has(permission);
}
