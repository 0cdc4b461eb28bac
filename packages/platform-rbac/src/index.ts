import type { AuditLog, Clock, Database } from "@burrow/platform-core";
import { createOrganizations, type Organizations } from "./organizations.ts";
import { BUILT_IN_PERMISSIONS } from "./permissions.ts";
import { createPermissionResolver, type PermissionResolver } from "./resolver.ts";

export interface Rbac {
  resolver: PermissionResolver;
  organizations: Organizations;
  /** The permission catalogue: Burrow's and the builder's, with descriptions. */
  catalogue: Record<string, string>;
  can: PermissionResolver["can"];
}

/**
 * Organizations, roles and permission checks.
 * @example const rbac = createRbac({ db, clock, audit, permissions: { "projects:write": "Edit projects" } }); await rbac.can(userId, "projects:write", { orgId })
 */
export function createRbac(options: { db: Database; clock: Clock; audit: AuditLog; permissions?: Record<string, string> }): Rbac {
  const resolver = createPermissionResolver({ db: options.db });
  const organizations = createOrganizations({ db: options.db, clock: options.clock, audit: options.audit, resolver });
  return { resolver, organizations, catalogue: { ...BUILT_IN_PERMISSIONS, ...options.permissions }, can: resolver.can };
}

export { BUILT_IN_PERMISSIONS, BUILT_IN_ROLES, covers, coversAll, PERMISSION, type BuiltInRole } from "./permissions.ts";
export { createGuards, type GuardOptions } from "./guards.ts";
export { RBAC_CHANNEL, type PermissionResolver, type ResolvedPermissions } from "./resolver.ts";
export { slugFromName, type Member, type OrganizationRow, type Organizations } from "./organizations.ts";
