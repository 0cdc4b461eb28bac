import { and, eq, isNotNull, isNull, sql, type SQL } from "drizzle-orm";
import { PlatformError, type AuditLog, type Database, type RequestContext } from "@burrow/platform-core";
import { securityEvents } from "@burrow/platform-core/schema";
import type { PermissionResolver } from "@burrow/platform-rbac";
import { keyset } from "../keyset.ts";

export type SecurityEventRow = typeof securityEvents.$inferSelect;

export interface SecurityEventFilter {
  kind?: string;
  severity?: "low" | "medium" | "high";
  userId?: string;
  /** true: resolved ones only; false: open ones only; absent: both. */
  resolved?: boolean;
}

export interface SecurityEvents {
  /** Newest first (audit:read); `limit` 1–200, 50 by default. */
  list(
    actorId: string,
    filter: SecurityEventFilter,
    page?: { cursor?: string; limit?: number },
  ): Promise<{ data: SecurityEventRow[]; nextCursor: string | null }>;
  /** How many events are open (audit:read). */
  countOpen(actorId: string): Promise<number>;
  /** Resolves an open event with a note (security_events:resolve); audited. 409 when already resolved. */
  resolve(actorId: string, eventId: string, note: string, request: RequestContext): Promise<SecurityEventRow>;
}

export const RESOLVE_PERMISSION = "security_events:resolve";

/** Security events are raised by core's audit writer (SECURITY_EVENT_RULES); this lists and resolves them. */
export function createSecurityEvents(options: {
  db: Database;
  audit: Pick<AuditLog, "record">;
  resolver: Pick<PermissionResolver, "can">;
  clock: { now(): Date };
  secret: string;
}): SecurityEvents {
  const { db } = options;
  const pages = keyset({
    time: securityEvents.createdAt,
    id: securityEvents.id,
    idKind: "securityEvent",
    secret: options.secret,
    purpose: "security-events",
  });

  async function require(actorId: string, permission: string): Promise<void> {
    if (!(await options.resolver.can(actorId, permission)))
      throw new PlatformError("forbidden", { detail: `This needs the ${permission} permission.` });
  }

  return {
    async countOpen(actorId) {
      await require(actorId, "audit:read");
      const [row] = await db
        .select({ count: sql<number | string>`count(*)` })
        .from(securityEvents)
        .where(isNull(securityEvents.resolvedAt));
      return Number(row?.count ?? 0);
    },

    async list(actorId, filter, page = {}) {
      await require(actorId, "audit:read");
      const where: SQL[] = [];
      if (filter.kind !== undefined) where.push(eq(securityEvents.kind, filter.kind));
      if (filter.severity !== undefined) where.push(eq(securityEvents.severity, filter.severity));
      if (filter.userId !== undefined) where.push(eq(securityEvents.userId, filter.userId));
      if (filter.resolved === true) where.push(isNotNull(securityEvents.resolvedAt));
      if (filter.resolved === false) where.push(isNull(securityEvents.resolvedAt));
      return pages.page(
        where,
        page,
        (condition, take) =>
          db
            .select()
            .from(securityEvents)
            .where(condition)
            .orderBy(...pages.newestFirst)
            .limit(take),
        (row) => ({ at: row.createdAt, id: row.id }),
      );
    },

    async resolve(actorId, eventId, noteText, request) {
      await require(actorId, RESOLVE_PERMISSION);
      const note = noteText.trim();
      if (note.length === 0 || note.length > 2000)
        throw new PlatformError("validation_failed", {
          errors: [{ path: "note", message: "A note of 1 to 2000 characters is required" }],
        });
      return db.transaction(async (tx) => {
        const [event] = await tx.select().from(securityEvents).where(eq(securityEvents.id, eventId));
        if (event === undefined) throw new PlatformError("not_found");
        const [resolved] = await tx
          .update(securityEvents)
          .set({ resolvedAt: options.clock.now(), resolvedBy: actorId, resolutionNote: note })
          .where(and(eq(securityEvents.id, eventId), isNull(securityEvents.resolvedAt)))
          .returning();
        if (resolved === undefined)
          throw new PlatformError("already_resolved", { detail: "That security event is resolved already." });
        await options.audit.record(
          tx,
          {
            action: "security_event.resolved",
            actor: { type: "user", id: actorId },
            target: { type: "security_event", id: eventId },
            metadata: { kind: event.kind },
          },
          request,
        );
        return resolved;
      });
    },
  };
}
