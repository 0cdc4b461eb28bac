import { and, eq, inArray, lte, notInArray, or, sql } from "drizzle-orm";
import type { Clock } from "../clock.ts";
import type { Database } from "../database/index.ts";
import { newId, type JobId } from "../ids.ts";
import { jobs } from "../schema.ts";

export type JobRow = typeof jobs.$inferSelect;

export interface EnqueueOptions {
  /** Earliest time the job may run; now by default. */
  runAt?: Date;
  /** Attempts before the job is marked dead; 6 by default. */
  maxAttempts?: number;
}

export const DEFAULT_MAX_ATTEMPTS = 6;

/**
 * Adds a job. Pass the caller's transaction as `db` so that a rolled-back change enqueues nothing.
 * @example await db.transaction(async (tx) => { ...; await enqueueJob(tx, clock, "email.send", { messageId }) })
 */
export async function enqueueJob(
  db: Database,
  clock: Clock,
  type: string,
  payload: unknown,
  options: EnqueueOptions = {},
): Promise<JobId> {
  const now = clock.now();
  const id = newId("job", now.getTime());
  await db.insert(jobs).values({
    id,
    type,
    payload,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    runAt: options.runAt ?? now,
    createdAt: now,
    updatedAt: now,
  });
  return id;
}

/**
 * Schedules a recurring job's next run under `key`, unless a run with that key is already queued or
 * running (on any node): the unique index on pending keys makes the check and the insert one step.
 * Returns whether this call scheduled it.
 */
export async function scheduleRecurring(
  db: Database,
  clock: Clock,
  input: { type: string; key: string; runAt: Date; payload?: unknown },
): Promise<boolean> {
  const now = clock.now();
  const inserted = await db
    .insert(jobs)
    .values({
      id: newId("job", now.getTime()),
      type: input.type,
      key: input.key,
      payload: input.payload ?? {},
      maxAttempts: DEFAULT_MAX_ATTEMPTS,
      runAt: input.runAt,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing()
    .returning({ id: jobs.id });
  return inserted.length > 0;
}

/**
 * Claims up to `limit` due jobs of the given types for `workerId`: queued jobs whose time has come
 * and running jobs whose lease ran out (their worker crashed). `FOR UPDATE SKIP LOCKED` lets many
 * workers claim at once without ever taking the same job. `excluding`: jobs the caller is still
 * running past their lease, which it does not take again itself.
 */
export async function claimJobs(
  db: Database,
  options: {
    types: string[];
    workerId: string;
    now: Date;
    leaseMs: number;
    limit: number;
    excluding?: readonly string[];
  },
): Promise<JobRow[]> {
  const { types, workerId, now, leaseMs, limit, excluding = [] } = options;
  if (types.length === 0) return [];
  const due = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      and(
        inArray(jobs.type, types),
        or(
          and(eq(jobs.status, "queued"), lte(jobs.runAt, now)),
          and(eq(jobs.status, "running"), lte(jobs.lockedUntil, now)),
        ),
        excluding.length === 0 ? undefined : notInArray(jobs.id, [...excluding]),
      ),
    )
    .orderBy(jobs.runAt)
    .limit(limit)
    .for("update", { skipLocked: true });
  return db
    .update(jobs)
    .set({
      status: "running",
      attempts: sql`${jobs.attempts} + 1`,
      lockedUntil: new Date(now.getTime() + leaseMs),
      lockedBy: workerId,
      updatedAt: now,
    })
    .where(inArray(jobs.id, due))
    .returning();
}

/** The lease is still ours: same worker, same attempt. A worker whose lease expired writes nothing. */
const stillOwned = (job: JobRow) =>
  and(
    eq(jobs.id, job.id),
    eq(jobs.lockedBy, job.lockedBy ?? ""),
    eq(jobs.attempts, job.attempts),
    eq(jobs.status, "running"),
  );

export async function completeJob(db: Database, job: JobRow, now: Date): Promise<void> {
  await db
    .update(jobs)
    .set({ status: "succeeded", lockedUntil: null, lockedBy: null, updatedAt: now, finishedAt: now, lastError: null })
    .where(stillOwned(job));
}

/** Records a failed attempt: back to the queue at `retryAt`, or dead when no attempts are left. */
export async function failJob(
  db: Database,
  job: JobRow,
  now: Date,
  error: string,
  retryAt: Date,
): Promise<"retry" | "dead"> {
  const lastError = error.slice(0, 2000);
  if (job.attempts >= job.maxAttempts) {
    await db
      .update(jobs)
      .set({ status: "dead", lockedUntil: null, lockedBy: null, lastError, updatedAt: now, finishedAt: now })
      .where(stillOwned(job));
    return "dead";
  }
  await db
    .update(jobs)
    .set({ status: "queued", lockedUntil: null, lockedBy: null, lastError, runAt: retryAt, updatedAt: now })
    .where(stillOwned(job));
  return "retry";
}

export async function getJob(db: Database, id: JobId): Promise<JobRow | undefined> {
  const [row] = await db.select().from(jobs).where(eq(jobs.id, id));
  return row;
}

/** The queue now: how many jobs of each type are in each state, finished ones left out. */
export async function jobCounts(db: Database): Promise<{ type: string; state: string; count: number }[]> {
  const rows = await db
    .select({ type: jobs.type, state: jobs.status, count: sql<number | string>`count(*)` })
    .from(jobs)
    .where(sql`${jobs.status} <> 'succeeded'`)
    .groupBy(jobs.type, jobs.status);
  return rows.map((row) => ({ type: row.type, state: row.state, count: Number(row.count) }));
}
