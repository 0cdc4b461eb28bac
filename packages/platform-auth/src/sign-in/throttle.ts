import { and, eq, isNull, lt, lte, or, sql, type SQL, type SQLWrapper } from "drizzle-orm";
import {
  compiled,
  consumeRateLimit,
  deleteInBatches,
  PlatformError,
  qualified,
  type AuditLog,
  type Clock,
  type Database,
  type RatePolicy,
  type RequestContext,
  type Sweeper,
} from "@burrow/platform-core";
import { rateLimitBuckets } from "@burrow/platform-core/schema";
import { signInThrottles } from "../schema.ts";

/**
 * Lockout per normalised email, counted whether or not an account exists (so a lock says nothing
 * about existence).
 *
 * Every attempt first *reserves* a slot with one atomic upsert, before the slow password check.
 * Parallel guesses therefore cannot all read "not locked" and then all be verified: once
 * `policy.count` slots are taken, the next attempt is refused without verifying anything. A failure
 * keeps its slot; the failure that fills the last slot starts the lock; a success clears the slate.
 */
/** What a reservation's statement returns: the counter after the slot was taken. */
export interface Reserved {
  failures: number | string;
  locked_until: Date | string | null;
  lock_level: number | string;
}

export interface SignInThrottle {
  /** Takes a slot or throws 429 `too_many_attempts` with `Retry-After`. Returns the slot number. */
  reserve(db: Database, key: string): Promise<number>;
  /**
   * `reserve`'s statement for a larger one (a CTE): `key` an expression, its time the placeholder
   * `at` (an ISO string). Its row goes to `slotOf`.
   */
  reserving(key: SQL): SQL;
  /** The slot a reservation's row gives, or 429 `too_many_attempts` as `reserve` throws it. */
  slotOf(row: Reserved | undefined, now: Date): number;
  /** The attempt failed; the failure that filled the last slot locks. Returns true when it locked. */
  recordFailure(db: Database, key: string, slot: number): Promise<boolean>;
  /** The attempt succeeded: failures, lock and lock level are reset. */
  recordSuccess(db: Database, key: string): Promise<void>;
  /** The attempt ended before anything was verified (its caller hung up): its slot is given back. */
  release(db: Database, key: string): Promise<void>;
  /**
   * The lock on `key` as a column of a larger select (`key` an expression of it, such as a user's
   * normalised email), so a check reads it in the same statement as what it checks.
   */
  lockedUntil(key: SQLWrapper): SQL<Date | null>;
  /** Throws 429 `too_many_attempts` with `Retry-After` while a lock read by `lockedUntil` holds. */
  assertUnlocked(lockedUntil: Date | null): void;
}

/**
 * Credential stuffing: many failed sign-ins from one client address, whichever accounts they name
 * (the per-address lockout never sees them: each account gets a few). 20 failures within about 10
 * minutes are allowed; the next raises one `security.credential_stuffing` entry (a high security event), when the address
 * first goes over; it does not block (the per-IP limit and the lockouts do that).
 */
export const CREDENTIAL_STUFFING_POLICY: RatePolicy = { count: 20, windowMs: 10 * 60_000 };

export async function watchForCredentialStuffing(
  tx: Database,
  context: { clock: Clock; audit: AuditLog },
  request: RequestContext,
): Promise<void> {
  const ip = context.audit.ipForStorage(request.ip);
  if (ip === null) return;
  const key = `stuffing:${ip}`;
  const [before] = await tx
    .select({ allowed: rateLimitBuckets.allowed })
    .from(rateLimitBuckets)
    .where(eq(rateLimitBuckets.key, key));
  const now = await consumeRateLimit(tx, context.clock, key, CREDENTIAL_STUFFING_POLICY);
  // Raised once, as the address goes over; again only after it has come back under.
  if (now.allowed || before?.allowed === false) return;
  await context.audit.record(
    tx,
    {
      action: "security.credential_stuffing",
      actor: { type: "anonymous" },
      outcome: "denied",
      metadata: {
        failures: CREDENTIAL_STUFFING_POLICY.count,
        windowMinutes: CREDENTIAL_STUFFING_POLICY.windowMs / 60_000,
      },
    },
    request,
  );
}

/**
 * Housekeeping: a counter untouched for 30 days and not locking now goes; with it the lock level, so
 * escalation forgets an address after a quiet month.
 */
export const throttleSweeper: Sweeper = {
  name: "auth.sign_in_throttles",
  sweep: (db, now) =>
    deleteInBatches(
      db,
      signInThrottles,
      signInThrottles.key,
      and(
        lt(signInThrottles.updatedAt, new Date(now.getTime() - 30 * 86_400_000)),
        or(isNull(signInThrottles.lockedUntil), lt(signInThrottles.lockedUntil, now)),
      )!,
    ),
};

export function createSignInThrottle(options: {
  clock: Clock;
  policy: RatePolicy & { maxLockMs: number };
}): SignInThrottle {
  const { clock, policy } = options;
  const lockLength = (level: number) => Math.min(policy.windowMs * 2 ** level, policy.maxLockMs);
  const tooMany = (retryAfterMs: number) =>
    new PlatformError("too_many_attempts", {
      headers: { "Retry-After": String(Math.max(1, Math.ceil(retryAfterMs / 1000))) },
    });

  // Every attempt takes a slot and every success clears them: both built once. Raw SQL parameters
  // are bound as text on every driver; they are cast explicitly.
  const at = sql`${sql.placeholder("at")}::timestamptz`;
  const reserving = (key: SQL) =>
    sql`insert into sign_in_throttles as t (key, failures, locked_until, lock_level, updated_at)
              values (${key}, 1, null, 0, ${at})
              on conflict (key) do update set
                failures = case
                  when t.locked_until is not null and t.locked_until > ${at} then t.failures
                  when t.locked_until is not null then 1
                  else t.failures + 1 end,
                locked_until = case when t.locked_until is not null and t.locked_until <= ${at} then null else t.locked_until end,
                updated_at = ${at}
              returning failures, locked_until, lock_level`;
  const reservation = compiled<Reserved>(() => reserving(sql`${sql.placeholder("key")}`));

  function slotOf(row: Reserved | undefined, now: Date): number {
    const lockedUntil = row?.locked_until == null ? null : new Date(row.locked_until);
    if (lockedUntil !== null && lockedUntil > now) throw tooMany(lockedUntil.getTime() - now.getTime());
    const slot = Number(row?.failures ?? 1);
    // Every slot is taken by attempts still being verified: refuse without verifying.
    if (slot > policy.count) throw tooMany(lockLength(Number(row?.lock_level ?? 0)));
    return slot;
  }

  const clearing = compiled((db) => db.delete(signInThrottles).where(eq(signInThrottles.key, sql.placeholder("key"))));

  return {
    async reserve(db, key) {
      const now = clock.now();
      const [row] = await reservation(db, { key, at: now.toISOString() });
      return slotOf(row, now);
    },

    reserving,
    slotOf,

    async recordFailure(db, key, slot) {
      if (slot < policy.count) return false;
      const now = clock.now();
      // Only one failure can start a lock: the condition fails for the rest once it is set.
      const locked = await db
        .update(signInThrottles)
        .set({
          lockedUntil: sql`${now.toISOString()}::timestamptz + make_interval(secs => least(${policy.windowMs}::float8 * power(2, ${signInThrottles.lockLevel}), ${policy.maxLockMs}::float8) / 1000)`,
          lockLevel: sql`${signInThrottles.lockLevel} + 1`,
          updatedAt: now,
        })
        .where(
          and(
            eq(signInThrottles.key, key),
            or(isNull(signInThrottles.lockedUntil), lte(signInThrottles.lockedUntil, now)),
          ),
        )
        .returning({ lockedUntil: signInThrottles.lockedUntil });
      return locked.length > 0;
    },

    lockedUntil: (key) =>
      sql`(select ${qualified(signInThrottles.lockedUntil)} from ${signInThrottles} where ${qualified(signInThrottles.key)} = ${qualified(key)})`.mapWith(
        signInThrottles.lockedUntil,
      ),

    assertUnlocked(lockedUntil) {
      const now = clock.now();
      if (lockedUntil !== null && lockedUntil > now) throw tooMany(lockedUntil.getTime() - now.getTime());
    },

    async recordSuccess(db, key) {
      await clearing(db, { key });
    },

    async release(db, key) {
      // A lock another attempt started meanwhile stands, with its count.
      const now = clock.now();
      await db
        .update(signInThrottles)
        .set({ failures: sql`greatest(${signInThrottles.failures} - 1, 0)` })
        .where(
          and(
            eq(signInThrottles.key, key),
            or(isNull(signInThrottles.lockedUntil), lte(signInThrottles.lockedUntil, now)),
          ),
        );
    },
  };
}
