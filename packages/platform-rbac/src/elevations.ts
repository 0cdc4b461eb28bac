import { and, desc, eq, isNull, sql } from "drizzle-orm";
import { newId, PlatformError, type AuditLog, type Clock, type Database, type RequestContext } from "@burrow/platform-core";
import { findOrgRole, type Organizations } from "./organizations.ts";
import type { PermissionResolver } from "./resolver.ts";
import { elevations, roleEligibilities, roles } from "./schema.ts";

export type ElevationRow = typeof elevations.$inferSelect;

/** An elevation lasts 30 minutes unless asked otherwise: long enough for a task, short enough to lapse. */
export const DEFAULT_ELEVATION_MINUTES = 30;

export interface Elevations {
  /**
   * Makes a role eligible-only for a user: an organization role (members:update there), or with
   * `orgId` null a platform role (the platform permission users:manage).
   */
  makeEligible(actorId: string, orgId: string | null, input: { userId: string; role: string; approverPermission?: string | null }, request: RequestContext): Promise<void>;
  /** Asks to hold an eligible role for a while: active at once, or pending approval. No `orgId`: a platform role. */
  request(userId: string, input: { orgId?: string | null; role: string; reason: string; minutes?: number }, request: RequestContext): Promise<ElevationRow>;
  /** Another holder of the eligibility's approver permission starts a pending elevation. */
  approve(approverId: string, elevationId: string, request: RequestContext): Promise<ElevationRow>;
  /** Ends an elevation early (its holder). */
  end(userId: string, elevationId: string, request: RequestContext): Promise<void>;
  list(db: Database, userId: string): Promise<ElevationRow[]>;
}

async function platformRole(tx: Database, key: string): Promise<{ id: string }> {
  const [role] = await tx.select({ id: roles.id }).from(roles).where(and(eq(roles.key, key), eq(roles.scope, "platform")));
  if (role === undefined) throw new PlatformError("validation_failed", { errors: [{ path: "role", message: `There is no platform role ${key}` }] });
  return role;
}

export function createElevations(options: { db: Database; clock: Clock; audit: AuditLog; resolver: PermissionResolver; organizations: Organizations; maxMinutes: number }): Elevations {
  const { db, clock, audit, resolver } = options;

  async function start(tx: Database, row: ElevationRow, approvedBy: string | null, request: RequestContext): Promise<ElevationRow> {
    const now = clock.now();
    const [started] = await tx
      .update(elevations)
      .set({ status: "active", approvedBy, startsAt: now, endsAt: new Date(now.getTime() + row.minutes * 60_000) })
      .where(and(eq(elevations.id, row.id), eq(elevations.status, "pending")))
      .returning();
    if (started === undefined) throw new PlatformError("conflict", { detail: "The elevation is not pending." });
    await audit.record(tx, { action: "elevation.started", actor: approvedBy === null ? { type: "user", id: row.userId } : { type: "user", id: approvedBy }, target: { type: "elevation", id: row.id }, ...(row.orgId ? { orgId: row.orgId } : {}), metadata: { minutes: row.minutes } }, request);
    await resolver.changed(tx, row.userId);
    return started;
  }

  return {
    async makeEligible(actorId, orgId, input, request) {
      if (orgId !== null) await options.organizations.authorize(actorId, orgId, "members:update");
      else if (!(await resolver.can(actorId, "users:manage"))) throw new PlatformError("forbidden", { detail: "This needs the users:manage permission." });
      await db.transaction(async (tx) => {
        const role = orgId !== null ? await findOrgRole(tx, input.role, orgId) : await platformRole(tx, input.role);
        await tx
          .insert(roleEligibilities)
          .values({ id: newId("elevation", clock.now().getTime()), userId: input.userId, roleId: role.id, orgId, approverPermission: input.approverPermission ?? null, createdBy: actorId, createdAt: clock.now() })
          .onConflictDoNothing();
        await audit.record(tx, { action: "elevation.eligibility_granted", actor: { type: "user", id: actorId }, target: { type: "user", id: input.userId }, ...(orgId ? { orgId } : {}), metadata: { role: input.role } }, request);
      });
    },

    async request(userId, input, request) {
      const minutes = input.minutes ?? DEFAULT_ELEVATION_MINUTES;
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > options.maxMinutes) {
        throw new PlatformError("validation_failed", { errors: [{ path: "minutes", message: `Between 1 and ${options.maxMinutes} minutes` }] });
      }
      return db.transaction(async (tx) => {
        const [eligibility] = await tx
          .select({ eligibility: roleEligibilities })
          .from(roleEligibilities)
          .innerJoin(roles, eq(roles.id, roleEligibilities.roleId))
          .where(and(eq(roleEligibilities.userId, userId), eq(roles.key, input.role), input.orgId == null ? isNull(roleEligibilities.orgId) : eq(roleEligibilities.orgId, input.orgId)));
        if (eligibility === undefined) throw new PlatformError("forbidden", { detail: `You are not eligible for the ${input.role} role here.` });
        const now = clock.now();
        const orgId = input.orgId ?? null;
        const [row] = await tx
          .insert(elevations)
          .values({ id: newId("elevation", now.getTime()), userId, roleId: eligibility.eligibility.roleId, orgId, reason: input.reason, minutes, status: "pending", requestedAt: now })
          .returning();
        await audit.record(tx, { action: "elevation.requested", actor: { type: "user", id: userId }, target: { type: "elevation", id: row!.id }, ...(orgId ? { orgId } : {}), metadata: { role: input.role, minutes, reason: input.reason } }, request);
        if (eligibility.eligibility.approverPermission !== null) return row!;
        return start(tx, row!, null, request);
      });
    },

    async approve(approverId, elevationId, request) {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .select({ elevation: elevations, approverPermission: roleEligibilities.approverPermission })
          .from(elevations)
          .innerJoin(roleEligibilities, and(eq(roleEligibilities.userId, elevations.userId), eq(roleEligibilities.roleId, elevations.roleId), sql`coalesce(${roleEligibilities.orgId}, '') = coalesce(${elevations.orgId}, '')`))
          .where(eq(elevations.id, elevationId));
        if (row === undefined || row.elevation.status !== "pending") throw new PlatformError("not_found");
        // Nobody approves their own elevation.
        if (row.elevation.userId === approverId || row.approverPermission === null || !(await resolver.can(approverId, row.approverPermission, { orgId: row.elevation.orgId, db: tx }))) {
          throw new PlatformError("forbidden", { detail: "You cannot approve this elevation." });
        }
        await audit.record(tx, { action: "elevation.approved", actor: { type: "user", id: approverId }, target: { type: "elevation", id: elevationId }, ...(row.elevation.orgId ? { orgId: row.elevation.orgId } : {}) }, request);
        return start(tx, row.elevation, approverId, request);
      });
    },

    async end(userId, elevationId, request) {
      await db.transaction(async (tx) => {
        const [ended] = await tx
          .update(elevations)
          .set({ status: "ended", endedAt: clock.now() })
          .where(and(eq(elevations.id, elevationId), eq(elevations.userId, userId), isNull(elevations.endedAt), sql`${elevations.status} in ('active', 'pending')`))
          .returning();
        if (ended === undefined) throw new PlatformError("not_found");
        await audit.record(tx, { action: "elevation.ended", actor: { type: "user", id: userId }, target: { type: "elevation", id: elevationId }, ...(ended.orgId ? { orgId: ended.orgId } : {}), metadata: { early: true } }, request);
        await resolver.changed(tx, userId);
      });
    },

    list: (tx, userId) => tx.select().from(elevations).where(eq(elevations.userId, userId)).orderBy(desc(elevations.requestedAt)),
  };
}
