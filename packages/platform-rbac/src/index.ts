import type { AuditLog, ChannelListener, Clock, Config, Database } from "@burrow/platform-core";
import type { Auth } from "@burrow/platform-auth";
import type { Outbox } from "@burrow/platform-email";
import { createElevations, type Elevations } from "./elevations.ts";
import { createEntitlements, type Entitlements } from "./entitlements.ts";
import { createInvitations, type Invitations } from "./invitations.ts";
import { createOrganizations, type Organizations } from "./organizations.ts";
import { BUILT_IN_PERMISSIONS } from "./permissions.ts";
import { createPermissionResolver, RBAC_CHANNEL, type PermissionResolver } from "./resolver.ts";
import { createRoles, type Roles } from "./roles.ts";

export interface Rbac {
  resolver: PermissionResolver;
  organizations: Organizations;
  roles: Roles;
  entitlements: Entitlements;
  elevations: Elevations;
  /** Present when composed with auth and the email outbox. */
  invitations: Invitations | undefined;
  /** The permission catalogue: Burrow's and the builder's, with descriptions. */
  catalogue: Record<string, string>;
  can: PermissionResolver["can"];
  /** Cached permissions evicted when another node changes them. */
  listeners: ChannelListener[];
}

/**
 * Organizations, roles and permission checks.
 * @example const rbac = createRbac({ db, clock, audit, permissions: { "projects:write": "Edit projects" } }); await rbac.can(userId, "projects:write", { orgId })
 */
export function createRbac(options: {
  db: Database;
  clock: Clock;
  audit: AuditLog;
  permissions?: Record<string, string>;
  /** The longest an elevation may last, in minutes (4 hours by default). */
  elevationMaxMinutes?: number;
  /**
   * Whether a user has a second factor (for example `auth.factors.methods(db, id)` being non-empty).
   * Every holder of `*` must have one, so elevation into a role holding `*` asks this; without it,
   * such elevations are refused.
   */
  hasSecondFactor?: (db: Database, userId: string) => Promise<boolean>;
  /** For invitations: accounts (to join or create) and the outbox (to mail them). */
  invitations?: {
    config: Config;
    auth: Pick<Auth, "users" | "setPassword" | "completion">;
    mailer: Pick<Outbox, "queue">;
  };
}): Rbac {
  const resolver = createPermissionResolver({ db: options.db, clock: options.clock });
  const organizations = createOrganizations({ db: options.db, clock: options.clock, audit: options.audit, resolver });
  const catalogue = { ...BUILT_IN_PERMISSIONS, ...options.permissions };
  const roles = createRoles({
    db: options.db,
    clock: options.clock,
    audit: options.audit,
    resolver,
    organizations,
    catalogue,
  });
  const invitations =
    options.invitations === undefined
      ? undefined
      : createInvitations({
          db: options.db,
          clock: options.clock,
          audit: options.audit,
          resolver,
          organizations,
          ...options.invitations,
        });
  const entitlements = createEntitlements({ db: options.db, clock: options.clock, audit: options.audit });
  const elevations = createElevations({
    db: options.db,
    clock: options.clock,
    audit: options.audit,
    resolver,
    organizations,
    maxMinutes: options.elevationMaxMinutes ?? 240,
    hasSecondFactor: options.hasSecondFactor ?? (async () => false),
  });
  return {
    resolver,
    organizations,
    roles,
    entitlements,
    elevations,
    invitations,
    catalogue,
    can: resolver.can,
    listeners: [{ channel: RBAC_CHANNEL, onNotify: (payload) => resolver.evict(payload) }],
  };
}

export {
  BUILT_IN_PERMISSIONS,
  BUILT_IN_ROLES,
  covers,
  coversAll,
  PERMISSION,
  type BuiltInRole,
} from "./permissions.ts";
export { createGuards, type GuardOptions } from "./guards.ts";
export { RBAC_CHANNEL, type PermissionResolver, type ResolvedPermissions } from "./resolver.ts";
export { slugFromName, type Member, type OrganizationRow, type Organizations } from "./organizations.ts";
export { INVITATION_TTL_MS, type InvitationRow, type InvitationView, type Invitations } from "./invitations.ts";
export type { RoleView, Roles } from "./roles.ts";
export { findOrgRole } from "./organizations.ts";
export type { Entitlement, Entitlements, Subject, SubscriptionStatus } from "./entitlements.ts";
export { DEFAULT_ELEVATION_MINUTES, type EligibilityView, type ElevationRow, type Elevations } from "./elevations.ts";
