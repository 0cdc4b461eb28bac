import { and, asc, desc, eq, isNull, sql } from "drizzle-orm";
import {
  newId,
  PlatformError,
  queryRows,
  type AuditLog,
  type Clock,
  type Database,
  type RequestContext,
} from "@burrow/platform-core";
import { lockUser, secondFactorMethods } from "@burrow/platform-auth";
import { users } from "@burrow/platform-auth/schema";
import { findOrgRole, lockOrganization, type Organizations } from "../organizations/organizations.ts";
import { coversAll, PERMISSION } from "../access/permissions.ts";
import type { PermissionResolver } from "../access/resolver.ts";
import { elevations, organizationMemberships, roleEligibilities, rolePermissions, roles } from "../schema.ts";
import { findPlatformRole } from "../roles/roles.ts";
import { withdrawElevations } from "./withdrawals.ts";

export type ElevationRow = typeof elevations.$inferSelect;

/** Who may take on which role, and whose approval that needs. Ids share the `elv_` prefix of elevations. */
export interface EligibilityView {
  id: string;
  userId: string;
  role: string;
  /** Null: a platform role. */
  orgId: string | null;
  approverPermission: string | null;
  createdBy: string;
  createdAt: Date;
}

/** An elevation lasts 30 minutes unless asked otherwise: long enough for a task, short enough to lapse. */
export const DEFAULT_ELEVATION_MINUTES = 30;

export interface Elevations {
  /**
   * Makes a role eligible-only for a user: an organization role for one of its members (members:update
   * there), or with `orgId` null a platform role (the platform permission users:manage). Never for
   * oneself, never a role with a permission the granter does not hold, and a role holding `*` only
   * with an `approverPermission`. Granting again replaces the approver.
   */
  makeEligible(
    actorId: string,
    orgId: string | null,
    input: { userId: string; role: string; approverPermission?: string | null },
    request: RequestContext,
  ): Promise<void>;
  /** The eligibilities in an organization (members:read), or with `orgId` null the platform ones (users:read). */
  eligibilities(actorId: string, orgId: string | null): Promise<EligibilityView[]>;
  /** Revokes one (members:update, or users:manage for a platform one), ending any elevation from it. */
  revokeEligibility(
    actorId: string,
    orgId: string | null,
    eligibilityId: string,
    request: RequestContext,
  ): Promise<void>;
  /** Asks to hold an eligible role for a while: active at once, or pending approval. No `orgId`: a platform role. */
  request(
    userId: string,
    input: { orgId?: string | null; role: string; reason: string; minutes?: number },
    request: RequestContext,
  ): Promise<ElevationRow>;
  /** Someone else holding the eligibility's approver permission, and every permission of the role, starts a pending elevation. */
  approve(approverId: string, elevationId: string, request: RequestContext): Promise<ElevationRow>;
  /** Refuses a pending elevation: whoever could approve it may deny it. Audited as `elevation.denied`. */
  deny(approverId: string, elevationId: string, request: RequestContext): Promise<ElevationRow>;
  /**
   * Every elevation on the platform and in organizations, newest first (the platform permission
   * users:read), with who and which role: what an operator reviews.
   */
  search(
    actorId: string,
    filter?: { status?: ElevationRow["status"]; limit?: number },
  ): Promise<(ElevationRow & { email: string; roleKey: string; roleName: string })[]>;
  /** Ends an elevation early (its holder). */
  end(userId: string, elevationId: string, request: RequestContext): Promise<void>;
  list(db: Database, userId: string): Promise<ElevationRow[]>;
  /** Inside the transaction that suspends or deletes a user: ends every eligibility and elevation they have. */
  endAllFor(tx: Database, userId: string): Promise<void>;
}

async function permissionsOf(tx: Database, roleId: string): Promise<string[]> {
  return (
    await tx
      .select({ permission: rolePermissions.permission })
      .from(rolePermissions)
      .where(eq(rolePermissions.roleId, roleId))
  ).map((row) => row.permission);
}

export function createElevations(options: {
  db: Database;
  clock: Clock;
  audit: AuditLog;
  resolver: PermissionResolver;
  organizations: Organizations;
  maxMinutes: number;
}): Elevations {
  const { db, clock, audit, resolver } = options;
  const user = (id: string) => ({ type: "user", id }) as const;

  /** Platform permissions are checked as everywhere else: through the resolver. */
  async function requirePlatform(actorId: string, permission: string): Promise<void> {
    if (!(await resolver.can(actorId, permission)))
      throw new PlatformError("forbidden", { detail: `This needs the ${permission} permission.` });
  }

  /** The policy that every holder of `*` has a second factor covers holding it for half an hour too. */
  async function assertSecondFactorFor(tx: Database, userId: string, permissions: string[]): Promise<void> {
    if (permissions.includes("*") && (await secondFactorMethods(tx, userId)).length === 0) {
      throw new PlatformError("mfa_required_by_policy", {
        detail: "A role holding every permission needs a second factor: set one up first.",
      });
    }
  }

  /**
   * A pending elevation `approverId` may decide (approve or deny), locked in `tx`: nobody decides
   * their own, and nobody grants by approval what they do not hold. 404 when it is not pending.
   */
  async function decidable(tx: Database, approverId: string, elevationId: string) {
    const [row] = await tx
      .select({ elevation: elevations, approverPermission: roleEligibilities.approverPermission })
      .from(elevations)
      .innerJoin(
        roleEligibilities,
        and(
          eq(roleEligibilities.userId, elevations.userId),
          eq(roleEligibilities.roleId, elevations.roleId),
          sql`coalesce(${roleEligibilities.orgId}, '') = coalesce(${elevations.orgId}, '')`,
        ),
      )
      .where(eq(elevations.id, elevationId));
    if (row === undefined || row.elevation.status !== "pending") throw new PlatformError("not_found");
    const { orgId } = row.elevation;
    if (orgId !== null && !(await lockOrganization(tx, orgId))) throw new PlatformError("not_found");
    const held = [...(await resolver.resolve(approverId, orgId, tx)).patterns];
    const permissions = await permissionsOf(tx, row.elevation.roleId);
    if (
      row.elevation.userId === approverId ||
      row.approverPermission === null ||
      !coversAll(held, [row.approverPermission, ...permissions])
    )
      throw new PlatformError("forbidden", { detail: "You cannot decide on this elevation." });
    return row;
  }

  async function start(
    tx: Database,
    row: ElevationRow,
    approvedBy: string | null,
    request: RequestContext,
  ): Promise<ElevationRow> {
    await assertSecondFactorFor(tx, row.userId, await permissionsOf(tx, row.roleId));
    const now = clock.now();
    const [started] = await tx
      .update(elevations)
      .set({ status: "active", approvedBy, startsAt: now, endsAt: new Date(now.getTime() + row.minutes * 60_000) })
      .where(and(eq(elevations.id, row.id), eq(elevations.status, "pending")))
      .returning();
    if (started === undefined)
      throw new PlatformError("elevation_not_pending", { detail: "The elevation is not pending." });
    await audit.record(
      tx,
      {
        action: "elevation.started",
        actor: user(approvedBy ?? row.userId),
        target: { type: "elevation", id: row.id },
        ...(row.orgId ? { orgId: row.orgId } : {}),
        metadata: { minutes: row.minutes },
      },
      request,
    );
    await resolver.changed(tx, row.userId);
    return started;
  }

  return {
    async makeEligible(actorId, orgId, input, request) {
      const approverPermission = input.approverPermission ?? null;
      if (approverPermission !== null && !PERMISSION.test(approverPermission)) {
        throw new PlatformError("validation_failed", {
          errors: [{ path: "approverPermission", message: "A permission such as members:update, members:* or *" }],
        });
      }
      if (orgId !== null) await options.organizations.authorize(actorId, orgId, "members:update");
      else await requirePlatform(actorId, "users:manage");
      // Self-eligibility would be self-promotion with a delay.
      if (input.userId === actorId)
        throw new PlatformError("forbidden", { detail: "You cannot make yourself eligible for a role." });
      await db.transaction(async (tx) => {
        if (orgId !== null && !(await lockOrganization(tx, orgId))) throw new PlatformError("not_found");
        const role = orgId !== null ? await findOrgRole(tx, input.role, orgId) : await findPlatformRole(tx, input.role);
        // Nobody grants what they do not hold — not even for later.
        if (!coversAll([...(await resolver.resolve(actorId, orgId, tx)).patterns], role.permissions))
          throw new PlatformError("forbidden", {
            detail: `You cannot make anyone eligible for the ${input.role} role.`,
          });
        const [target] =
          orgId !== null
            ? await tx
                .select({ id: organizationMemberships.userId })
                .from(organizationMemberships)
                .where(and(eq(organizationMemberships.orgId, orgId), eq(organizationMemberships.userId, input.userId)))
            : await tx
                .select({ id: users.id })
                .from(users)
                .where(and(eq(users.id, input.userId), isNull(users.deletedAt)));
        if (target === undefined)
          throw new PlatformError("not_found", {
            detail: orgId !== null ? "There is no such member." : "There is no such user.",
          });
        // Holding everything, even for a while, always takes someone else's approval.
        if (role.permissions.includes("*") && approverPermission === null) {
          throw new PlatformError("validation_failed", {
            errors: [
              {
                path: "approverPermission",
                message: `The ${input.role} role holds every permission: name the permission its approvers must hold`,
              },
            ],
          });
        }
        await queryRows(
          tx,
          sql`insert into role_eligibilities (id, user_id, role_id, org_id, approver_permission, created_by, created_at)
              values (${newId("elevation", clock.now().getTime())}, ${input.userId}, ${role.id}, ${orgId}, ${approverPermission}, ${actorId}, ${clock.now().toISOString()}::timestamptz)
              on conflict (user_id, role_id, coalesce(org_id, ''))
              do update set approver_permission = excluded.approver_permission, created_by = excluded.created_by, created_at = excluded.created_at
              returning id`,
        );
        await audit.record(
          tx,
          {
            action: "elevation.eligibility_granted",
            actor: user(actorId),
            target: { type: "user", id: input.userId },
            ...(orgId ? { orgId } : {}),
            metadata: { role: input.role, approverPermission },
          },
          request,
        );
      });
    },

    async eligibilities(actorId, orgId) {
      if (orgId !== null) await options.organizations.authorize(actorId, orgId, "members:read");
      else await requirePlatform(actorId, "users:read");
      const rows = await db
        .select({ eligibility: roleEligibilities, role: roles.key })
        .from(roleEligibilities)
        .innerJoin(roles, eq(roles.id, roleEligibilities.roleId))
        .where(orgId === null ? isNull(roleEligibilities.orgId) : eq(roleEligibilities.orgId, orgId))
        .orderBy(asc(roleEligibilities.createdAt), asc(roleEligibilities.id));
      return rows.map(({ eligibility, role }) => ({
        id: eligibility.id,
        userId: eligibility.userId,
        role,
        orgId: eligibility.orgId,
        approverPermission: eligibility.approverPermission,
        createdBy: eligibility.createdBy,
        createdAt: eligibility.createdAt,
      }));
    },

    async revokeEligibility(actorId, orgId, eligibilityId, request) {
      if (orgId !== null) await options.organizations.authorize(actorId, orgId, "members:update");
      else await requirePlatform(actorId, "users:manage");
      await db.transaction(async (tx) => {
        if (orgId !== null && !(await lockOrganization(tx, orgId))) throw new PlatformError("not_found");
        const eligibility = () =>
          tx
            .select()
            .from(roleEligibilities)
            .where(
              and(
                eq(roleEligibilities.id, eligibilityId),
                orgId === null ? isNull(roleEligibilities.orgId) : eq(roleEligibilities.orgId, orgId),
              ),
            );
        let [row] = await eligibility();
        // A platform eligibility has no organization to queue on: its user's account is the lock a
        // request for the elevation takes too. Read again under it (revoked meanwhile: not found).
        if (row !== undefined && orgId === null) {
          await lockUser(tx, row.userId);
          [row] = await eligibility();
        }
        if (row === undefined) throw new PlatformError("not_found");
        const changed = await withdrawElevations(
          tx,
          { clock, audit },
          { userId: row.userId, roleId: row.roleId, ...(orgId === null ? {} : { orgId }) },
          user(actorId),
          request,
        );
        await audit.record(
          tx,
          {
            action: "elevation.eligibility_revoked",
            actor: user(actorId),
            target: { type: "user", id: row.userId },
            ...(orgId ? { orgId } : {}),
            metadata: { eligibilityId },
          },
          request,
        );
        for (const userId of changed) await resolver.changed(tx, userId);
      });
    },

    async request(userId, input, request) {
      const minutes = input.minutes ?? DEFAULT_ELEVATION_MINUTES;
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > options.maxMinutes) {
        throw new PlatformError("validation_failed", {
          errors: [{ path: "minutes", message: `Between 1 and ${options.maxMinutes} minutes` }],
        });
      }
      const orgId = input.orgId ?? null;
      return db.transaction(async (tx) => {
        // Serialized with membership changes; an unknown organization reads as "not eligible", like any other.
        // A platform elevation with the revocation of its eligibility: on the account's lock.
        if (orgId !== null) await lockOrganization(tx, orgId);
        else await lockUser(tx, userId);
        const [eligibility] = await tx
          .select({ eligibility: roleEligibilities })
          .from(roleEligibilities)
          .innerJoin(roles, eq(roles.id, roleEligibilities.roleId))
          .where(
            and(
              eq(roleEligibilities.userId, userId),
              eq(roles.key, input.role),
              orgId === null
                ? and(isNull(roleEligibilities.orgId), eq(roles.scope, "platform"))
                : eq(roleEligibilities.orgId, orgId),
            ),
          );
        // An organization's eligibility is for its members only.
        const member =
          orgId === null ||
          (
            await tx
              .select({ userId: organizationMemberships.userId })
              .from(organizationMemberships)
              .where(and(eq(organizationMemberships.orgId, orgId), eq(organizationMemberships.userId, userId)))
          ).length > 0;
        if (eligibility === undefined || !member)
          throw new PlatformError("forbidden", { detail: `You are not eligible for the ${input.role} role here.` });
        const { approverPermission, roleId } = eligibility.eligibility;
        const permissions = await permissionsOf(tx, roleId);
        // An eligibility granted before approvals were required for `*` does not start by itself.
        if (permissions.includes("*") && approverPermission === null)
          throw new PlatformError("forbidden", {
            detail: `The ${input.role} role needs another person's approval; ask for the eligibility to be granted again with an approver.`,
          });
        await assertSecondFactorFor(tx, userId, permissions);
        const now = clock.now();
        const [row] = await tx
          .insert(elevations)
          .values({
            id: newId("elevation", now.getTime()),
            userId,
            roleId,
            orgId,
            reason: input.reason,
            minutes,
            status: "pending",
            requestedAt: now,
          })
          .returning();
        await audit.record(
          tx,
          {
            action: "elevation.requested",
            actor: user(userId),
            target: { type: "elevation", id: row!.id },
            ...(orgId ? { orgId } : {}),
            metadata: { role: input.role, minutes, reason: input.reason },
          },
          request,
        );
        if (approverPermission !== null) return row!;
        return start(tx, row!, null, request);
      });
    },

    async approve(approverId, elevationId, request) {
      return db.transaction(async (tx) => {
        const row = await decidable(tx, approverId, elevationId);
        const { orgId } = row.elevation;
        await audit.record(
          tx,
          {
            action: "elevation.approved",
            actor: user(approverId),
            target: { type: "elevation", id: elevationId },
            ...(orgId ? { orgId } : {}),
          },
          request,
        );
        return start(tx, row.elevation, approverId, request);
      });
    },

    async deny(approverId, elevationId, request) {
      return db.transaction(async (tx) => {
        const row = await decidable(tx, approverId, elevationId);
        const { orgId } = row.elevation;
        // Conditional, as `start` is: decided meanwhile by someone else (read as pending above, before any
        // lock), it is theirs, and this decision is refused rather than overwriting theirs.
        const [denied] = await tx
          .update(elevations)
          .set({ status: "denied", approvedBy: approverId, endedAt: clock.now() })
          .where(and(eq(elevations.id, elevationId), eq(elevations.status, "pending")))
          .returning();
        if (denied === undefined)
          throw new PlatformError("elevation_not_pending", { detail: "The elevation is not pending." });
        await audit.record(
          tx,
          {
            action: "elevation.denied",
            actor: user(approverId),
            target: { type: "elevation", id: elevationId },
            ...(orgId ? { orgId } : {}),
          },
          request,
        );
        return denied;
      });
    },

    async search(actorId, filter = {}) {
      await requirePlatform(actorId, "users:read");
      const rows = await db
        .select({ elevation: elevations, email: users.email, roleKey: roles.key, roleName: roles.name })
        .from(elevations)
        .innerJoin(users, eq(users.id, elevations.userId))
        .innerJoin(roles, eq(roles.id, elevations.roleId))
        .where(filter.status === undefined ? undefined : eq(elevations.status, filter.status))
        .orderBy(desc(elevations.requestedAt))
        .limit(Math.min(Math.max(filter.limit ?? 100, 1), 500));
      return rows.map((row) => ({ ...row.elevation, email: row.email, roleKey: row.roleKey, roleName: row.roleName }));
    },

    async end(userId, elevationId, request) {
      await db.transaction(async (tx) => {
        const [ended] = await tx
          .update(elevations)
          .set({ status: "ended", endedAt: clock.now() })
          .where(
            and(
              eq(elevations.id, elevationId),
              eq(elevations.userId, userId),
              isNull(elevations.endedAt),
              sql`${elevations.status} in ('active', 'pending')`,
            ),
          )
          .returning();
        if (ended === undefined) throw new PlatformError("not_found");
        await audit.record(
          tx,
          {
            action: "elevation.ended",
            actor: user(userId),
            target: { type: "elevation", id: elevationId },
            ...(ended.orgId ? { orgId: ended.orgId } : {}),
            metadata: { early: true },
          },
          request,
        );
        await resolver.changed(tx, userId);
      });
    },

    list: (tx, userId) =>
      tx.select().from(elevations).where(eq(elevations.userId, userId)).orderBy(desc(elevations.requestedAt)),

    async endAllFor(tx, userId) {
      await withdrawElevations(tx, { clock, audit }, { userId }, { type: "system" }, {});
      await resolver.changed(tx, userId);
    },
  };
}
