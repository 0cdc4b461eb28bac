import { and, eq, gte, inArray, lte, or, sql, type SQL } from "drizzle-orm";
import {
  AUDIT_ACTIONS,
  AUDIT_ENTRY_KEYS,
  PlatformError,
  type AuditAction,
  type AuditEntry,
  type AuditLog,
  type Database,
} from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { keyset } from "../keyset.ts";
import type { PermissionResolver } from "@burrow/platform-rbac";

/** What an operator can filter the audit log by; every part optional, all of them combined with AND. */
export interface AuditQuery {
  actorId?: string;
  action?: string;
  targetId?: string;
  orgId?: string;
  outcome?: "success" | "failure" | "denied";
  /** A client IP as the edge saw it (matched through its stored form), or the stored hash itself. */
  ip?: string;
  /** Inclusive bounds on when the entry was written. */
  from?: Date;
  to?: Date;
}

export interface AuditPage {
  data: AuditEntry[];
  /** Pass back as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

/** One row as the API and exports show it: the stored fields, with ISO times. */
export type AuditRecord = Omit<AuditEntry, "occurredAt"> & { occurredAt: string };

export interface AuditTrail {
  /** Newest first, `limit` (1–200, 50 by default) per page; needs `audit:read`. */
  search(actorId: string, query: AuditQuery, page?: { cursor?: string; limit?: number }): Promise<AuditPage>;
  /**
   * Every entry the query matches, newest first, read in batches by key (never all rows in memory),
   * so a million-row export holds one batch at a time. Needs `audit:read`; checked before the first row.
   */
  export(actorId: string, query: AuditQuery): Promise<AsyncIterable<AuditEntry>>;
  /** The user's own recent security activity (sign-ins, password, MFA and address changes, new keys). */
  activity(userId: string, limit?: number): Promise<AuditEntry[]>;
  /**
   * How many entries of each of `actions` were written on each UTC day since `since` (audit:read),
   * read through the (action, time) index: `{ day: "2026-03-01", action, count }`.
   */
  dailyCounts(
    actorId: string,
    actions: readonly string[],
    since: Date,
  ): Promise<{ day: string; action: string; count: number }[]>;
}

/** The actions a user sees as their own security activity. */
export const ACTIVITY_ACTIONS: AuditAction[] = [
  "user.signed_in",
  "user.new_device_sign_in",
  "user.sign_in_disowned",
  "user.sign_in_failed",
  "user.signed_out",
  "user.locked",
  "user.unlocked",
  "user.suspended",
  "user.unsuspended",
  "user.reauthenticated",
  "user.reauthentication_failed",
  "user.password_changed",
  "user.password_change_failed",
  "user.password_reset",
  "user.email_verified",
  "user.email_changed",
  "user.phone_added",
  "user.phone_removed",
  "mfa.factor_added",
  "mfa.factor_removed",
  "mfa.factor_failed",
  "mfa.locked",
  "mfa.recovery_code_used",
  "mfa.recovery_codes_regenerated",
  "session.revoked",
  "session.revoked_others",
  "security.refresh_token_reuse",
  "api_key.created",
  "api_key.revoked",
];

const EXPORT_BATCH = 1_000;
const GC_EVERY_BATCHES = 5;
const MAX_PAGE = 200;
const RAW_IP = /^[0-9a-fA-F:.]{2,45}$/;
const IP_HASH = /^[0-9a-f]{32}$/;

/** As the API shows an entry. */
export function auditRecord(entry: AuditEntry): AuditRecord {
  return { ...entry, occurredAt: entry.occurredAt.toISOString() };
}

export function createAuditTrail(options: {
  db: Database;
  audit: Pick<AuditLog, "ipForStorage">;
  resolver: Pick<PermissionResolver, "can">;
  /** Signs cursors, so that a client cannot hand back one it made up. */
  secret: string;
}): AuditTrail {
  const { db } = options;
  // Newest first by time, then id: every index on the log ends in its time, so any one filter reads
  // in order from its index.
  const pages = keyset({
    time: auditLogs.occurredAt,
    id: auditLogs.id,
    idKind: "audit",
    secret: options.secret,
    purpose: "audit",
  });
  const position = (entry: AuditEntry) => ({ at: entry.occurredAt, id: entry.id });

  async function authorize(actorId: string): Promise<void> {
    if (!(await options.resolver.can(actorId, "audit:read")))
      throw new PlatformError("forbidden", { detail: "This needs the audit:read permission." });
  }

  function conditions(query: AuditQuery): SQL[] {
    if (query.from !== undefined && query.to !== undefined && query.from > query.to)
      throw new PlatformError("validation_failed", {
        errors: [{ path: "from", message: "`from` is after `to`" }],
      });
    if (query.action !== undefined && !(query.action in AUDIT_ACTIONS) && !query.action.startsWith("app."))
      throw new PlatformError("validation_failed", {
        errors: [{ path: "action", message: "There is no such audit action" }],
      });
    const where: SQL[] = [];
    if (query.actorId !== undefined) where.push(eq(auditLogs.actorId, query.actorId));
    if (query.action !== undefined) where.push(eq(auditLogs.action, query.action));
    if (query.targetId !== undefined) where.push(eq(auditLogs.targetId, query.targetId));
    if (query.orgId !== undefined) where.push(eq(auditLogs.orgId, query.orgId));
    if (query.outcome !== undefined) where.push(eq(auditLogs.outcome, query.outcome));
    if (query.ip !== undefined) {
      if (!IP_HASH.test(query.ip) && !RAW_IP.test(query.ip))
        throw new PlatformError("validation_failed", {
          errors: [{ path: "ip", message: "Expected an IP address or its stored hash" }],
        });
      // A raw IP matches through its stored form; a stored hash (as the API shows it) matches itself.
      const stored = options.audit.ipForStorage(query.ip);
      where.push(
        stored === query.ip ? eq(auditLogs.ip, query.ip) : or(eq(auditLogs.ip, query.ip), eq(auditLogs.ip, stored!))!,
      );
    }
    if (query.from !== undefined) where.push(gte(auditLogs.occurredAt, query.from));
    if (query.to !== undefined) where.push(lte(auditLogs.occurredAt, query.to));
    return where;
  }

  return {
    async search(actorId, query, page = {}) {
      await authorize(actorId);
      return pages.page(
        conditions(query),
        page,
        (where, take) =>
          db
            .select()
            .from(auditLogs)
            .where(where)
            .orderBy(...pages.newestFirst)
            .limit(take),
        position,
        MAX_PAGE,
      );
    },

    async export(actorId, query) {
      await authorize(actorId);
      const where = conditions(query);
      return {
        async *[Symbol.asyncIterator]() {
          let last: AuditEntry | undefined;
          let batches = 0;
          for (;;) {
            const batch = await db
              .select()
              .from(auditLogs)
              .where(and(...where, ...(last === undefined ? [] : [pages.olderThan(position(last))])))
              .orderBy(...pages.newestFirst)
              .limit(EXPORT_BATCH);
            yield* batch;
            if (batch.length < EXPORT_BATCH) return;
            last = batch.at(-1);
            // A long export makes garbage faster than the collector's own pacing frees it (the resident
            // size would climb to a gigabyte for 200,000 rows): ask for a collection every few batches.
            if (++batches % GC_EVERY_BATCHES === 0) Bun.gc(true);
          }
        },
      };
    },

    async dailyCounts(actorId, actions, since) {
      await authorize(actorId);
      const day = sql<string>`to_char(${auditLogs.occurredAt} at time zone 'UTC', 'YYYY-MM-DD')`;
      const rows = await db
        .select({ day, action: auditLogs.action, count: sql<number | string>`count(*)` })
        .from(auditLogs)
        .where(and(inArray(auditLogs.action, [...actions]), gte(auditLogs.occurredAt, since)))
        .groupBy(day, auditLogs.action);
      return rows.map((row) => ({ day: row.day, action: row.action, count: Number(row.count) }));
    },
    activity: (userId, limit = 50) =>
      db
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.targetId, userId), inArray(auditLogs.action, ACTIVITY_ACTIONS)))
        .orderBy(...pages.newestFirst)
        .limit(Math.max(1, Math.min(limit, MAX_PAGE))),
  };
}

/** The CSV columns of an export, in order. */
export const AUDIT_CSV_COLUMNS = AUDIT_ENTRY_KEYS;

/** One CSV line (RFC 4180 quoting); a cell that a spreadsheet would run as a formula is defused. */
export function auditCsvLine(entry: AuditEntry | "header"): string {
  if (entry === "header") return `${AUDIT_CSV_COLUMNS.join(",")}\r\n`;
  const record = auditRecord(entry);
  const cells = AUDIT_CSV_COLUMNS.map((column) => {
    const value = record[column];
    if (value === null || value === undefined) return "";
    let text = typeof value === "string" ? value : JSON.stringify(value);
    if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  });
  return `${cells.join(",")}\r\n`;
}

export type AuditExportFormat = "ndjson" | "csv";

/** The export format an Accept header asks for, if any. */
export function auditExportFormat(accept: string | undefined): AuditExportFormat | null {
  if (accept === undefined) return null;
  if (/application\/x-ndjson/i.test(accept)) return "ndjson";
  if (/text\/csv/i.test(accept)) return "csv";
  return null;
}

/**
 * An export as a download: rows are pulled as the client reads (500 to a chunk), so a slow reader
 * holds the export back instead of filling memory. Past the headers nothing can be answered any
 * more: a failure is reported to `onError` and the client sees a cut-off file.
 */
export function auditExportResponse(
  rows: AsyncIterable<AuditEntry>,
  format: AuditExportFormat,
  onError: (error: unknown) => void,
): Response {
  const encoder = new TextEncoder();
  const iterator = rows[Symbol.asyncIterator]();
  const line = (row: AuditEntry) => (format === "csv" ? auditCsvLine(row) : `${JSON.stringify(auditRecord(row))}\n`);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (format === "csv") controller.enqueue(encoder.encode(auditCsvLine("header")));
    },
    async pull(controller) {
      try {
        let chunk = "";
        for (let count = 0; count < 500; count++) {
          const next = await iterator.next();
          if (next.done) {
            if (chunk !== "") controller.enqueue(encoder.encode(chunk));
            controller.close();
            return;
          }
          chunk += line(next.value);
        }
        controller.enqueue(encoder.encode(chunk));
      } catch (error) {
        onError(error);
        controller.error(error);
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": format === "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
      "content-disposition": `attachment; filename="audit-log.${format}"`,
    },
  });
}
