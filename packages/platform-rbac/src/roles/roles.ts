import { and, asc, eq, gt, isNull, or } from "drizzle-orm";
import {
  newId,
  PlatformError,
  type AuditLog,
  type Clock,
  type Database,
  type RequestContext,
} from "@burrow/platform-core";
import { lockOrganization, type Organizations } from "../organizations/organizations.ts";
import { BUILT_IN_ROLES, coversAll, PERMISSION } from "../access/permissions.ts";
import type { PermissionResolver } from "../access/resolver.ts";
import { assertRecentAuthentication } from "@burrow/platform-auth";
import { users } from "@burrow/platform-auth/schema";
import { organizationInvitations, organizationMemberships, principalRoles, rolePermissions, roles } from "../schema.ts";

export interface RoleView {
  id: string;
  key: string;
  name: string;
  builtIn: boolean;
  permissions: string[];
}

export interface Roles {
  /**
   * The platform roles, each with its permissions and who holds it (the platform permission
   * users:read): what the admin console's roles page shows.
   */
  platformRoles(
    actorId: string,
  ): Promise<
    { id: string; key: string; name: string; permissions: string[]; holders: { userId: string; email: string }[] }[]
  >;
  /** The built-in organization roles and this organization's own (roles:read). */
  list(actorId: string, orgId: string): Promise<RoleView[]>;
  /** A custom role (roles:manage); never with permissions the actor does not hold. */
  create(
    actorId: string,
    orgId: string,
    input: { key: string; name: string; permissions: string[] },
    request: RequestContext,
  ): Promise<RoleView>;
  update(
    actorId: string,
    orgId: string,
    roleId: string,
    changes: { name?: string; permissions?: string[] },
    request: RequestContext,
  ): Promise<RoleView>;
  /** Refused (409 role_in_use) while a member holds the role or a pending invitation offers it. */
  remove(actorId: string, orgId: string, roleId: string, request: RequestContext): Promise<void>;
  /**
   * Gives a user a platform role, on the operator's own authority (the command line on the server:
   * whoever runs it holds the database already). Audited as the system's act; false when the user
   * held the role already. No HTTP route reaches it.
   */
  grantPlatformRoleAsOperator(db: Database, userId: string, key: string, request: RequestContext): Promise<boolean>;
  /**
   * An operator gives a user a platform role (users:manage, a recent authentication, and every
   * permission of the role held by the operator). Never to oneself. False when it was held already.
   */
  grantPlatformRole(
    operator: { userId: string; authenticatedAt: Date },
    userId: string,
    key: string,
    request: RequestContext,
  ): Promise<boolean>;
  /** Takes a platform role away, on the same terms; never the last holder of `*`. 404 when not held. */
  revokePlatformRole(
    operator: { userId: string; authenticatedAt: Date },
    userId: string,
    key: string,
    request: RequestContext,
  ): Promise<void>;
  /** The platform roles a user holds, by key (users:read). */
  platformRolesOf(actorId: string, userId: string): Promise<string[]>;
}

const KEY = /^[a-z][a-z0-9_]{1,49}$/;

/** A platform role by key, with its permissions; 400 for a key that is not one. */
export async function findPlatformRole(tx: Database, key: string): Promise<{ id: string; permissions: string[] }> {
  const [role] = await tx
    .select({ id: roles.id })
    .from(roles)
    .where(and(eq(roles.key, key), eq(roles.scope, "platform")));
  if (role === undefined)
    throw new PlatformError("validation_failed", {
      errors: [{ path: "role", message: `There is no platform role ${key}` }],
    });
  const held = await tx
    .select({ permission: rolePermissions.permission })
    .from(rolePermissions)
    .where(eq(rolePermissions.roleId, role.id));
  return { id: role.id, permissions: held.map((row) => row.permission) };
}

export function createRoles(options: {
  db: Database;
  clock: Clock;
  audit: AuditLog;
  resolver: PermissionResolver;
  organizations: Organizations;
  catalogue: Record<string, string>;
}): Roles {
  const { db, clock, audit, resolver } = options;

  const authorize = options.organizations.authorize;

  /** Known permissions (or patterns over known resources), none beyond what the actor holds. */
  async function checkPermissions(
    tx: Database,
    actorId: string,
    orgId: string,
    permissions: string[],
  ): Promise<string[]> {
    const resources = new Set(Object.keys(options.catalogue).map((permission) => permission.split(":")[0]));
    const unknown = permissions.filter(
      (permission) =>
        !PERMISSION.test(permission) ||
        (permission !== "*" &&
          (permission.endsWith(":*") ? !resources.has(permission.split(":")[0]) : !(permission in options.catalogue))),
    );
    if (unknown.length > 0)
      throw new PlatformError("validation_failed", {
        errors: unknown.map((permission) => ({
          path: "permissions",
          message: `${permission} is not in the permission catalogue`,
        })),
      });
    if (!coversAll([...(await resolver.resolve(actorId, orgId, tx)).patterns], permissions))
      throw new PlatformError("forbidden", { detail: "You cannot grant permissions you do not hold." });
    return [...new Set(permissions)].sort();
  }

  async function view(tx: Database, roleId: string): Promise<RoleView> {
    const rows = await tx
      .select({ role: roles, permission: rolePermissions.permission })
      .from(roles)
      .leftJoin(rolePermissions, eq(rolePermissions.roleId, roles.id))
      .where(eq(roles.id, roleId));
    const role = rows[0]!.role;
    return {
      id: role.id,
      key: role.key,
      name: role.name,
      builtIn: role.builtIn,
      permissions: rows.flatMap((row) => (row.permission === null ? [] : [row.permission])).sort(),
    };
  }

  /**
   * The organization's own role, with the organization locked for the rest of the transaction: the
   * lock that member changes and invitations take first too, so a role's removal, a change to its
   * permissions, a member moved onto it and an invitation offering it queue instead of racing.
   */
  async function custom(tx: Database, orgId: string, roleId: string) {
    if (!(await lockOrganization(tx, orgId))) throw new PlatformError("not_found");
    const [role] = await tx
      .select()
      .from(roles)
      .where(and(eq(roles.id, roleId), eq(roles.orgId, orgId)));
    // Built-in roles and other organizations' roles are not this organization's to change.
    if (role === undefined) throw new PlatformError("not_found");
    return role;
  }

  /**
   * The terms of every operator's change to platform roles: users:manage, a recent authentication,
   * never oneself, and only a role whose every permission the operator holds. Returns the role.
   */
  async function changeableBy(
    tx: Database,
    operator: { userId: string; authenticatedAt: Date },
    userId: string,
    key: string,
  ): Promise<{ id: string; permissions: string[] }> {
    if (!(await resolver.can(operator.userId, "users:manage", { db: tx })))
      throw new PlatformError("forbidden", { detail: "This needs the platform permission users:manage." });
    assertRecentAuthentication(operator, clock.now());
    if (operator.userId === userId)
      throw new PlatformError("forbidden", { detail: "Operators cannot change their own platform roles." });
    const role = await findPlatformRole(tx, key);
    if (!coversAll([...(await resolver.resolve(operator.userId, null, tx)).patterns], role.permissions))
      throw new PlatformError("forbidden", { detail: `You cannot grant or take away the ${key} role.` });
    return role;
  }

  /** The user's platform-role rows of `roleId` (a platform role is held at most once). */
  const platformHolding = (userId: string, roleId: string) =>
    and(eq(principalRoles.userId, userId), eq(principalRoles.roleId, roleId), isNull(principalRoles.orgId));

  /** Gives the role, audited with `actor`; false when the user held it already. */
  async function grant(
    tx: Database,
    userId: string,
    role: { id: string },
    key: string,
    actor: { type: "system" } | { type: "user"; id: string },
    request: RequestContext,
  ): Promise<boolean> {
    const held = await tx
      .select({ id: principalRoles.id })
      .from(principalRoles)
      .where(platformHolding(userId, role.id));
    if (held.length > 0) return false;
    await tx
      .insert(principalRoles)
      .values({ id: newId("role", clock.now().getTime()), userId, roleId: role.id, createdAt: clock.now() });
    await audit.record(
      tx,
      { action: "role.platform_granted", actor, target: { type: "user", id: userId }, metadata: { role: key } },
      request,
    );
    await resolver.changed(tx, userId);
    return true;
  }

  return {
    grantPlatformRoleAsOperator: async (tx, userId, key, request) =>
      grant(tx, userId, await findPlatformRole(tx, key), key, { type: "system" }, request),

    grantPlatformRole: (operator, userId, key, request) =>
      db.transaction(async (tx) =>
        grant(
          tx,
          userId,
          await changeableBy(tx, operator, userId, key),
          key,
          { type: "user", id: operator.userId },
          request,
        ),
      ),

    async revokePlatformRole(operator, userId, key, request) {
      await db.transaction(async (tx) => {
        const role = await changeableBy(tx, operator, userId, key);
        const removed = await tx
          .delete(principalRoles)
          .where(platformHolding(userId, role.id))
          .returning({ id: principalRoles.id });
        if (removed.length === 0) throw new PlatformError("not_found");
        if (role.permissions.includes("*")) {
          const left = await tx
            .select({ id: principalRoles.id })
            .from(principalRoles)
            .where(and(eq(principalRoles.roleId, role.id), isNull(principalRoles.orgId)));
          // Rolled back by the throw: somebody must keep every permission.
          if (left.length === 0) throw new PlatformError("conflict", { detail: `The last holder of ${key} keeps it.` });
        }
        await audit.record(
          tx,
          {
            action: "role.platform_revoked",
            actor: { type: "user", id: operator.userId },
            target: { type: "user", id: userId },
            metadata: { role: key },
          },
          request,
        );
        await resolver.changed(tx, userId);
      });
    },

    async platformRolesOf(actorId, userId) {
      if (!(await resolver.can(actorId, "users:read")))
        throw new PlatformError("forbidden", { detail: "This needs the platform permission users:read." });
      const rows = await db
        .select({ key: roles.key })
        .from(principalRoles)
        .innerJoin(roles, eq(roles.id, principalRoles.roleId))
        .where(and(eq(principalRoles.userId, userId), isNull(principalRoles.orgId)))
        .orderBy(asc(roles.key));
      return rows.map((row) => row.key);
    },

    async platformRoles(actorId) {
      if (!(await resolver.can(actorId, "users:read")))
        throw new PlatformError("forbidden", { detail: "This needs the platform permission users:read." });
      const rows = await db
        .select({ role: roles, permission: rolePermissions.permission })
        .from(roles)
        .leftJoin(rolePermissions, eq(rolePermissions.roleId, roles.id))
        .where(and(eq(roles.scope, "platform"), isNull(roles.orgId)))
        .orderBy(asc(roles.key));
      const holders = await db
        .select({ roleId: principalRoles.roleId, userId: users.id, email: users.email })
        .from(principalRoles)
        .innerJoin(users, eq(users.id, principalRoles.userId))
        .where(isNull(principalRoles.orgId))
        .orderBy(asc(users.email));
      const byRole = new Map<
        string,
        { id: string; key: string; name: string; permissions: string[]; holders: { userId: string; email: string }[] }
      >();
      for (const { role, permission } of rows) {
        const entry = byRole.get(role.id) ?? {
          id: role.id,
          key: role.key,
          name: role.name,
          permissions: [],
          holders: [],
        };
        if (permission !== null) entry.permissions.push(permission);
        byRole.set(role.id, entry);
      }
      for (const holder of holders)
        byRole.get(holder.roleId)?.holders.push({ userId: holder.userId, email: holder.email });
      return [...byRole.values()];
    },

    async list(actorId, orgId) {
      await authorize(actorId, orgId, "roles:read");
      const rows = await db
        .select({ id: roles.id, key: roles.key, builtIn: roles.builtIn })
        .from(roles)
        .where(and(eq(roles.scope, "organization"), or(isNull(roles.orgId), eq(roles.orgId, orgId))))
        .orderBy(asc(roles.createdAt), asc(roles.id));
      // Built-in roles from most to least powerful, then the organization's own in creation order.
      const rank = (row: { key: string; builtIn: boolean }) =>
        row.builtIn ? BUILT_IN_ROLES.findIndex((role) => role.key === row.key) : BUILT_IN_ROLES.length;
      const ordered = rows
        .map((row, index) => ({ row, index }))
        .sort((a, b) => rank(a.row) - rank(b.row) || a.index - b.index);
      return Promise.all(ordered.map(({ row }) => view(db, row.id)));
    },

    async create(actorId, orgId, input, request) {
      await authorize(actorId, orgId, "roles:manage");
      if (!KEY.test(input.key))
        throw new PlatformError("validation_failed", {
          errors: [{ path: "key", message: "2–50 lower-case letters, digits and underscores" }],
        });
      return db.transaction(async (tx) => {
        // Locked: two creations of one key queue, and the second finds the first's role.
        if (!(await lockOrganization(tx, orgId))) throw new PlatformError("not_found");
        const permissions = await checkPermissions(tx, actorId, orgId, input.permissions);
        const [taken] = await tx
          .select({ id: roles.id })
          .from(roles)
          .where(
            and(
              eq(roles.key, input.key),
              eq(roles.scope, "organization"),
              or(isNull(roles.orgId), eq(roles.orgId, orgId)),
            ),
          );
        if (taken !== undefined) throw new PlatformError("role_taken", { detail: `The role ${input.key} exists.` });
        const id = newId("role", clock.now().getTime());
        await tx.insert(roles).values({
          id,
          key: input.key,
          name: input.name,
          scope: "organization",
          orgId,
          builtIn: false,
          createdAt: clock.now(),
        });
        if (permissions.length > 0)
          await tx.insert(rolePermissions).values(permissions.map((permission) => ({ roleId: id, permission })));
        await audit.record(
          tx,
          {
            action: "role.created",
            actor: { type: "user", id: actorId },
            target: { type: "role", id },
            orgId,
            metadata: { key: input.key, permissions },
          },
          request,
        );
        return view(tx, id);
      });
    },

    async update(actorId, orgId, roleId, changes, request) {
      await authorize(actorId, orgId, "roles:manage");
      return db.transaction(async (tx) => {
        await custom(tx, orgId, roleId);
        if (changes.name !== undefined) await tx.update(roles).set({ name: changes.name }).where(eq(roles.id, roleId));
        if (changes.permissions !== undefined) {
          const permissions = await checkPermissions(tx, actorId, orgId, changes.permissions);
          await tx.delete(rolePermissions).where(eq(rolePermissions.roleId, roleId));
          if (permissions.length > 0)
            await tx.insert(rolePermissions).values(permissions.map((permission) => ({ roleId, permission })));
          // Everyone holding the role sees the change on their next check, on every node.
          await resolver.changed(tx, "*");
        }
        await audit.record(
          tx,
          {
            action: "role.changed",
            actor: { type: "user", id: actorId },
            target: { type: "role", id: roleId },
            orgId,
            metadata: { fields: Object.keys(changes) },
          },
          request,
        );
        return view(tx, roleId);
      });
    },

    async remove(actorId, orgId, roleId, request) {
      await authorize(actorId, orgId, "roles:manage");
      await db.transaction(async (tx) => {
        await custom(tx, orgId, roleId);
        const [held] = await tx
          .select({ userId: organizationMemberships.userId })
          .from(organizationMemberships)
          .where(eq(organizationMemberships.roleId, roleId))
          .limit(1);
        if (held !== undefined)
          throw new PlatformError("role_in_use", { detail: "Members still hold this role; give them another first." });
        const [offered] = await tx
          .select({ id: organizationInvitations.id })
          .from(organizationInvitations)
          .where(
            and(
              eq(organizationInvitations.roleId, roleId),
              isNull(organizationInvitations.acceptedAt),
              isNull(organizationInvitations.revokedAt),
              gt(organizationInvitations.expiresAt, clock.now()),
            ),
          )
          .limit(1);
        if (offered !== undefined)
          throw new PlatformError("role_in_use", { detail: "A pending invitation offers this role; revoke it first." });
        const removed = await tx.delete(roles).where(eq(roles.id, roleId)).returning({ id: roles.id });
        if (removed.length === 0) throw new PlatformError("not_found");
        await audit.record(
          tx,
          { action: "role.deleted", actor: { type: "user", id: actorId }, target: { type: "role", id: roleId }, orgId },
          request,
        );
      });
    },
  };
}
