// Sweeping what has expired: each package says what of its own tables may go (a Sweeper), and the
// housekeeping job (platform-ops) runs them all on the job queue.
import { and, eq, inArray, lt, or, type SQL } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import type { Database } from "./database/index.ts";
import { auditLogs, jobs, rateLimitBuckets, securityEvents } from "./schema.ts";

/** One kind of expired row, swept by the package that owns its table. */
export interface Sweeper {
  /** What it sweeps, for logs and the CLI (`auth.sessions`, `core.audit_logs`). */
  name: string;
  /** Deletes what is past keeping at `now`; returns how many rows went. */
  sweep(db: Database, now: Date): Promise<number>;
}

/** Rows deleted per statement: short statements, so a sweep never holds long locks. */
export const SWEEP_BATCH = 1_000;

/**
 * Deletes the rows `where` selects, `batchSize` at a time (each batch its own short statement),
 * until none is left; returns how many went.
 */
export async function deleteInBatches(
  db: Database,
  table: PgTable,
  key: PgColumn,
  where: SQL,
  batchSize = SWEEP_BATCH,
): Promise<number> {
  let total = 0;
  for (;;) {
    const batch = db.select({ key }).from(table).where(where).limit(batchSize);
    const deleted = await db.delete(table).where(inArray(key, batch)).returning({ key });
    total += deleted.length;
    if (deleted.length < batchSize) return total;
  }
}

const DAY_MS = 86_400_000;
const ago = (now: Date, ms: number) => new Date(now.getTime() - ms);

/**
 * Core's sweepers: rate-limit buckets untouched for a day (full again under any policy Burrow has),
 * finished jobs (succeeded after 7 days, dead after 30, so failures stay visible for a while), and
 * audit entries past their retention.
 */
export function coreSweepers(options: { auditRetentionMs: number; securityEventRetentionMs: number }): Sweeper[] {
  return [
    {
      name: "core.rate_limit_buckets",
      sweep: (db, now) =>
        deleteInBatches(
          db,
          rateLimitBuckets,
          rateLimitBuckets.key,
          lt(rateLimitBuckets.refilledAt, now.getTime() - DAY_MS),
        ),
    },
    {
      name: "core.jobs",
      sweep: (db, now) =>
        deleteInBatches(
          db,
          jobs,
          jobs.id,
          or(
            and(eq(jobs.status, "succeeded"), lt(jobs.finishedAt, ago(now, 7 * DAY_MS))),
            and(eq(jobs.status, "dead"), lt(jobs.updatedAt, ago(now, 30 * DAY_MS))),
          )!,
        ),
    },
    {
      // Resolved ones only: an open event waits for an operator however old it is.
      name: "core.security_events",
      sweep: (db, now) =>
        deleteInBatches(
          db,
          securityEvents,
          securityEvents.id,
          lt(securityEvents.resolvedAt, ago(now, options.securityEventRetentionMs)),
        ),
    },
    {
      name: "core.audit_logs",
      sweep: (db, now) =>
        deleteInBatches(db, auditLogs, auditLogs.id, lt(auditLogs.occurredAt, ago(now, options.auditRetentionMs))),
    },
  ];
}
