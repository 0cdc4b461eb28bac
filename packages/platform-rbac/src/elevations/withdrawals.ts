import { and, eq, inArray, isNull, type SQL } from "drizzle-orm";
import type { AuditActor, AuditLog, Clock, Database, RequestContext } from "@burrow/platform-core";
import { elevations, roleEligibilities } from "../schema.ts";

/** Whose eligibilities end: one user (everywhere), one organization (everyone in it), or both; optionally one role. */
export interface WithdrawalMatch {
  userId?: string;
  orgId?: string;
  roleId?: string;
}

/**
 * Ends eligibilities and the elevations (active or pending) that match, inside the caller's
 * transaction — the one that removes the membership, deletes the organization, revokes the
 * eligibility or deactivates the user — so nobody keeps a way back in once the reason to have one is
 * gone. Returns the users whose permissions changed: the caller evicts them (`resolver.changed`).
 */
export async function withdrawElevations(
  tx: Database,
  context: { clock: Clock; audit: AuditLog },
  match: WithdrawalMatch,
  actor: AuditActor,
  request: RequestContext,
): Promise<Set<string>> {
  // An empty match would end everyone's: refuse it outright.
  if (match.userId === undefined && match.orgId === undefined)
    throw new Error("withdrawElevations needs a user or an organization");
  const on = (table: typeof roleEligibilities | typeof elevations): SQL => {
    const conditions: SQL[] = [];
    if (match.userId !== undefined) conditions.push(eq(table.userId, match.userId));
    if (match.orgId !== undefined) conditions.push(eq(table.orgId, match.orgId));
    if (match.roleId !== undefined) conditions.push(eq(table.roleId, match.roleId));
    return and(...conditions)!;
  };
  await tx.delete(roleEligibilities).where(on(roleEligibilities));
  const ended = await tx
    .update(elevations)
    .set({ status: "ended", endedAt: context.clock.now() })
    .where(and(on(elevations), isNull(elevations.endedAt), inArray(elevations.status, ["active", "pending"])))
    .returning();
  for (const row of ended) {
    await context.audit.record(
      tx,
      {
        action: "elevation.ended",
        actor,
        target: { type: "elevation", id: row.id },
        ...(row.orgId ? { orgId: row.orgId } : {}),
        metadata: { early: true, withdrawn: true },
      },
      request,
    );
  }
  return new Set(ended.map((row) => row.userId));
}
