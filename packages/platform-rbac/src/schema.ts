import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from "drizzle-orm/pg-core";
import { timestamptz } from "@burrow/platform-core/schema";
import { users } from "@burrow/platform-auth/schema";

export const organizations = pgTable(
  "organizations",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** Unique among live organizations; generated from the name, editable. */
    slug: text("slug").notNull(),
    logoUrl: text("logo_url"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    createdBy: text("created_by").notNull(),
    createdAt: timestamptz("created_at").notNull(),
    updatedAt: timestamptz("updated_at").notNull(),
    deletedAt: timestamptz("deleted_at"),
  },
  (table) => [uniqueIndex("organizations_slug_key").on(table.slug).where(sql`deleted_at is null`)],
);

export const ROLE_SCOPES = ["platform", "organization"] as const;

/**
 * Roles. Built-in roles (`owner`, `admin`, `member`, `viewer`; `platform_admin`, `support`) have no
 * organization; an organization's custom roles name it.
 */
export const roles = pgTable(
  "roles",
  {
    id: text("id").primaryKey(),
    key: text("key").notNull(),
    name: text("name").notNull(),
    scope: text("scope", { enum: ROLE_SCOPES }).notNull(),
    orgId: text("org_id").references(() => organizations.id, { onDelete: "cascade" }),
    builtIn: boolean("built_in").notNull().default(false),
    createdAt: timestamptz("created_at").notNull(),
  },
  (table) => [uniqueIndex("roles_key_per_org").on(table.key, sql`coalesce(${table.orgId}, '')`)],
);

export const rolePermissions = pgTable(
  "role_permissions",
  {
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "cascade" }),
    /** `resource:action`, `resource:*` or `*`. */
    permission: text("permission").notNull(),
  },
  (table) => [primaryKey({ columns: [table.roleId, table.permission] })],
);

export const organizationMemberships = pgTable(
  "organization_memberships",
  {
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id),
    joinedAt: timestamptz("joined_at").notNull(),
  },
  (table) => [
    primaryKey({ columns: [table.orgId, table.userId] }),
    index("organization_memberships_user_idx").on(table.userId),
  ],
);

/** Roles held beyond membership: platform roles, and (later) eligible-only roles for elevation. */
export const principalRoles = pgTable(
  "principal_roles",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "cascade" }),
    orgId: text("org_id").references(() => organizations.id, { onDelete: "cascade" }),
    createdAt: timestamptz("created_at").notNull(),
  },
  (table) => [index("principal_roles_user_idx").on(table.userId)],
);

/**
 * Invitations: the token's SHA-256 only, 7 days, used once. Accepting needs the invited address:
 * a signed-in user whose verified email matches, or a new account made on acceptance.
 */
export const organizationInvitations = pgTable(
  "organization_invitations",
  {
    id: text("id").primaryKey(),
    orgId: text("org_id")
      .notNull()
      .references(() => organizations.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    emailNormalized: text("email_normalized").notNull(),
    // A finished invitation (accepted, revoked, expired) goes with its role; its history is in the
    // audit log. A pending one keeps the role from being removed (roles.remove).
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "cascade" }),
    invitedBy: text("invited_by").notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    expiresAt: timestamptz("expires_at").notNull(),
    acceptedAt: timestamptz("accepted_at"),
    acceptedBy: text("accepted_by"),
    revokedAt: timestamptz("revoked_at"),
    createdAt: timestamptz("created_at").notNull(),
  },
  (table) => [index("organization_invitations_org_idx").on(table.orgId, table.createdAt)],
);

/** Plans and what they include. Burrow records subscriptions; taking payment is the builder's billing. */
export const plans = pgTable("plans", {
  id: text("id").primaryKey(),
  key: text("key").notNull().unique(),
  name: text("name").notNull(),
  createdAt: timestamptz("created_at").notNull(),
});

export const features = pgTable("features", {
  key: text("key").primaryKey(),
  /** `boolean`: on or off; `limit`: a number (seats, projects, …). */
  kind: text("kind", { enum: ["boolean", "limit"] }).notNull(),
  description: text("description").notNull().default(""),
});

export const planFeatures = pgTable(
  "plan_features",
  {
    planId: text("plan_id")
      .notNull()
      .references(() => plans.id, { onDelete: "cascade" }),
    featureKey: text("feature_key")
      .notNull()
      .references(() => features.key, { onDelete: "cascade" }),
    /** For limit features; null means unlimited. */
    limitValue: integer("limit_value"),
  },
  (table) => [primaryKey({ columns: [table.planId, table.featureKey] })],
);

export const SUBSCRIPTION_STATUSES = ["trialing", "active", "past_due", "canceled"] as const;

export const subscriptions = pgTable(
  "subscriptions",
  {
    id: text("id").primaryKey(),
    subjectType: text("subject_type", { enum: ["user", "organization"] }).notNull(),
    subjectId: text("subject_id").notNull(),
    planId: text("plan_id")
      .notNull()
      .references(() => plans.id),
    status: text("status", { enum: SUBSCRIPTION_STATUSES }).notNull(),
    trialEndsAt: timestamptz("trial_ends_at"),
    periodEndsAt: timestamptz("period_ends_at"),
    createdAt: timestamptz("created_at").notNull(),
    updatedAt: timestamptz("updated_at").notNull(),
  },
  (table) => [uniqueIndex("subscriptions_subject_plan_key").on(table.subjectType, table.subjectId, table.planId)],
);

/** One subject's exception to its plans: grant, deny (which always wins) or a different limit. */
export const entitlementOverrides = pgTable(
  "entitlement_overrides",
  {
    id: text("id").primaryKey(),
    subjectType: text("subject_type", { enum: ["user", "organization"] }).notNull(),
    subjectId: text("subject_id").notNull(),
    featureKey: text("feature_key")
      .notNull()
      .references(() => features.key, { onDelete: "cascade" }),
    effect: text("effect", { enum: ["grant", "deny", "limit"] }).notNull(),
    limitValue: integer("limit_value"),
    reason: text("reason").notNull(),
    expiresAt: timestamptz("expires_at"),
    createdBy: text("created_by"),
    createdAt: timestamptz("created_at").notNull(),
  },
  (table) => [index("entitlement_overrides_subject_idx").on(table.subjectType, table.subjectId)],
);

/** A role a user may take on for a while (just-in-time elevation), not hold all the time. */
export const roleEligibilities = pgTable(
  "role_eligibilities",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "cascade" }),
    /** Null: a platform role. */
    orgId: text("org_id").references(() => organizations.id, { onDelete: "cascade" }),
    /** When set, another holder of this permission must approve each elevation. */
    approverPermission: text("approver_permission"),
    createdBy: text("created_by").notNull(),
    createdAt: timestamptz("created_at").notNull(),
  },
  (table) => [uniqueIndex("role_eligibilities_key").on(table.userId, table.roleId, sql`coalesce(${table.orgId}, '')`)],
);

export const ELEVATION_STATUSES = ["pending", "active", "ended", "denied"] as const;

export const elevations = pgTable(
  "elevations",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    roleId: text("role_id")
      .notNull()
      .references(() => roles.id, { onDelete: "cascade" }),
    orgId: text("org_id").references(() => organizations.id, { onDelete: "cascade" }),
    reason: text("reason").notNull(),
    minutes: integer("minutes").notNull(),
    status: text("status", { enum: ELEVATION_STATUSES }).notNull(),
    requestedAt: timestamptz("requested_at").notNull(),
    approvedBy: text("approved_by"),
    startsAt: timestamptz("starts_at"),
    /** The elevation ends by itself at this time: resolution checks it, no job needed. */
    endsAt: timestamptz("ends_at"),
    endedAt: timestamptz("ended_at"),
  },
  (table) => [index("elevations_user_idx").on(table.userId, table.requestedAt)],
);
