import type { AuditLog, ChannelListener, Clock, Config, Database, Metrics } from "@burrow/platform-core";
import type { AccessPolicy, Auth } from "@burrow/platform-auth";
import { createAccessPolicy } from "./access/policy.ts";
import type { Outbox } from "@burrow/platform-email";
import { createElevations, type Elevations } from "./elevations/elevations.ts";
import { createEntitlements, type Entitlements } from "./entitlements/entitlements.ts";
import { createInvitations, type Invitations } from "./invitations/invitations.ts";
import { createOrganizations, type Organizations } from "./organizations/organizations.ts";
import { BUILT_IN_PERMISSIONS } from "./access/permissions.ts";
import { createPermissionResolver, RBAC_CHANNEL, type PermissionResolver } from "./access/resolver.ts";
import { createRoles, type Roles } from "./roles/roles.ts";

export interface Rbac {
  resolver: PermissionResolver;
  organizations: Organizations;
  roles: Roles;
  entitlements: Entitlements;
  elevations: Elevations;
  /** What roles decide for accounts: give it to `createAuth({ access })`. */
  accessPolicy: AccessPolicy;
  /** The permission catalogue: Burrow's and the builder's, with descriptions. */
  catalogue: Record<string, string>;
  can: PermissionResolver["can"];
  /** Cached permissions evicted when another node changes them. */
  listeners: ChannelListener[];
  /** Invitations to organizations, which join or create accounts: they need auth, made after rbac. */
  createInvitations(accounts: InvitationAccounts): Invitations;
}

/** What invitations need of the rest of the platform: accounts (to join or create) and the outbox. */
export interface InvitationAccounts {
  config: Config;
  auth: Pick<Auth, "users" | "preparePassword" | "setPassword" | "completion">;
  mailer: Pick<Outbox, "queue">;
}

/**
 * Organizations, roles and permission checks. Rbac builds on auth, and auth asks rbac's rules
 * (who needs MFA, what tokens carry): so rbac comes first, auth takes its `accessPolicy`, and the
 * invitations, which need both, come last.
 * @example
 * const rbac = createRbac({ db, clock, audit, permissions: { "projects:write": "Edit projects" } });
 * const auth = createAuth({ db, config, clock, audit, keyRing, email: email.outbox, sms: email.sms, access: rbac.accessPolicy });
 * const invitations = rbac.createInvitations({ config, auth, mailer: email.outbox });
 * await rbac.can(userId, "projects:write", { orgId });
 */
export function createRbac(options: {
  db: Database;
  clock: Clock;
  audit: AuditLog;
  permissions?: Record<string, string>;
  /** The longest an elevation may last, in minutes (4 hours by default). */
  elevationMaxMinutes?: number;
  /** Where permission-cache hits and misses are counted; nothing by default. */
  metrics?: Metrics;
}): Rbac {
  const { db, clock, audit } = options;
  const resolver = createPermissionResolver({ db, clock, ...(options.metrics ? { metrics: options.metrics } : {}) });
  const organizations = createOrganizations({ db, clock, audit, resolver });
  const catalogue = { ...BUILT_IN_PERMISSIONS, ...options.permissions };
  const roles = createRoles({ db, clock, audit, resolver, organizations, catalogue });
  const entitlements = createEntitlements({ db, clock, audit });
  const elevations = createElevations({
    db,
    clock,
    audit,
    resolver,
    organizations,
    maxMinutes: options.elevationMaxMinutes ?? 240,
  });
  return {
    resolver,
    organizations,
    roles,
    entitlements,
    elevations,
    accessPolicy: createAccessPolicy({ resolver, elevations, organizations }),
    catalogue,
    can: resolver.can,
    listeners: [
      {
        channel: RBAC_CHANNEL,
        onNotify: (payload) => resolver.evict(payload),
        onConnectionChange: (connected) => resolver.connectionChanged(connected),
      },
    ],
    createInvitations: (accounts) => createInvitations({ db, clock, audit, resolver, organizations, ...accounts }),
  };
}

export {
  BUILT_IN_PERMISSIONS,
  BUILT_IN_ROLES,
  covers,
  coversAll,
  PERMISSION,
  type BuiltInRole,
} from "./access/permissions.ts";
export { createGuards, type GuardOptions } from "./access/guards.ts";
export { RBAC_CHANNEL, type PermissionResolver, type ResolvedPermissions } from "./access/resolver.ts";
export { slugFromName, type Member, type OrganizationRow, type Organizations } from "./organizations/organizations.ts";
export {
  INVITATION_TTL_MS,
  type InvitationRow,
  type InvitationView,
  type Invitations,
} from "./invitations/invitations.ts";
export type { RoleView, Roles } from "./roles/roles.ts";
export { findOrgRole } from "./organizations/organizations.ts";
export type { Entitlement, Entitlements, Subject, SubscriptionStatus } from "./entitlements/entitlements.ts";
export {
  DEFAULT_ELEVATION_MINUTES,
  type EligibilityView,
  type ElevationRow,
  type Elevations,
} from "./elevations/elevations.ts";
