// Single-use secrets: one helper for every table that holds something redeemable once (one-time
// links and codes, MFA challenges, WebAuthn ceremonies, refresh tokens, invitations).
import { and, desc, eq, gt, isNull, lt, sql, type Placeholder, type SQL, type SQLWrapper } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import { randomToken, sha256 } from "./crypto.ts";
import type { Database } from "./database/index.ts";
import { deleteInBatches, type Sweeper } from "./housekeeping.ts";

/** A secret is 256 random bits in base64url: 43 characters. Anything else is not one of ours. */
const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A new secret, shown once, and the SHA-256 kept at rest (256 bits need no slow hash). */
export function mintSecret(): { secret: string; hash: string } {
  const secret = randomToken(32);
  return { secret, hash: sha256(secret) };
}

/** The stored hash of a presented secret, or undefined when it cannot be one (no query needed). */
export function secretHash(secret: string): string | undefined {
  return SECRET_SHAPE.test(secret) ? sha256(secret) : undefined;
}

/** The columns a table of single-use secrets has; `revokedAt` and `attempts` where it keeps them. */
export interface SingleUseColumns {
  id: PgColumn;
  expiresAt: PgColumn;
  /** Set once, when the secret is redeemed (`consumed_at`, `accepted_at`, `rotated_at`). */
  usedAt: PgColumn;
  revokedAt?: PgColumn;
  /** Tries so far; a row at `maxAttempts` can no longer be tried. */
  attempts?: PgColumn;
}

export interface SingleUse<Row> {
  /** Not used, not revoked, not expired at `now`. */
  live(now: Date | SQLWrapper): SQL;
  /**
   * The live row matching `where` that may still be tried (under `maxAttempts`); with `newestBy`, the
   * newest by that column. `lock`: FOR UPDATE, for the rest of the caller's transaction.
   */
  find(
    db: Database,
    now: Date,
    where: SQL,
    options?: { lock?: boolean; newestBy?: PgColumn },
  ): Promise<Row | undefined>;
  /**
   * Redeems the live row matching `where`, atomically: of two racing redemptions exactly one gets
   * the row, the other undefined. `also`: columns written in the same statement (who accepted).
   */
  redeem(db: Database, now: Date, where: SQL, also?: Record<string, unknown>): Promise<Row | undefined>;
  /**
   * `redeem` as part of a larger statement (a CTE) built once (`compiled`): `now` is a placeholder
   * for the time of the redemption. It returns the redeemed row's id.
   */
  redeeming(now: Placeholder, where: SQL): SQL;
  /** Counts a try before it is checked, so parallel tries cannot outrun the limit; false when none is left. */
  countAttempt(db: Database, now: Date, id: string): Promise<boolean>;
  /** Counts a wrong guess after the check; the one that reaches the limit revokes the row. */
  countMiss(db: Database, now: Date, id: string): Promise<void>;
  /** Housekeeping: deletes rows expired for longer than `keepMs` (used or not; their time is over). */
  sweeper(name: string, keepMs: number): Sweeper;
  /** Revokes every row matching `where` not yet used or revoked (expired ones too); how many there were. */
  revoke(db: Database, now: Date, where: SQL): Promise<number>;
}

/**
 * The rules every single-use secret shares, over its own table: used once (a conditional UPDATE …
 * RETURNING, so a race has one winner), expiry, revocation and a cap on tries. Each table stays with
 * its owner; the owner adds what is its own (purpose, binding to a user or ceremony, grace windows).
 */
export function singleUse<T extends PgTable>(
  table: T,
  columns: SingleUseColumns,
  options: { maxAttempts?: number } = {},
): SingleUse<T["$inferSelect"]> {
  type Row = T["$inferSelect"];
  const maxAttempts = options.maxAttempts ?? Number.POSITIVE_INFINITY;
  const hasAttemptLimit = columns.attempts !== undefined && Number.isFinite(maxAttempts);
  // Drizzle's builders are typed per table; this helper is generic over tables, so it speaks to them untyped.
  const target = table as unknown as PgTable;
  const usedKey = columnKey(table, columns.usedAt);
  const attemptsKey = columns.attempts && columnKey(table, columns.attempts);
  const revokedKey = columns.revokedAt && columnKey(table, columns.revokedAt);

  function live(now: Date | SQLWrapper): SQL {
    const conditions = [isNull(columns.usedAt), gt(columns.expiresAt, now)];
    if (columns.revokedAt) conditions.push(isNull(columns.revokedAt));
    return and(...conditions)!;
  }
  const triable = (now: Date) => (hasAttemptLimit ? and(live(now), lt(columns.attempts!, maxAttempts))! : live(now));

  return {
    live,

    async find(db, now, where, { lock = false, newestBy } = {}) {
      const filtered = db
        .select()
        .from(target)
        .where(and(where, triable(now)));
      const query = (newestBy ? filtered.orderBy(desc(newestBy)) : filtered).limit(1);
      const [row] = lock ? await query.for("update") : await query;
      return row as Row | undefined;
    },

    async redeem(db, now, where, also = {}) {
      const [row] = await db
        .update(target)
        .set({ [usedKey]: now, ...also })
        .where(and(where, live(now)))
        .returning();
      return row as Row | undefined;
    },

    redeeming: (now, where) =>
      sql`update ${target} set ${sql.identifier(columns.usedAt.name)} = ${sql.param(now, columns.usedAt)} where ${and(
        where,
        live(sql.param(now, columns.expiresAt)),
      )} returning ${columns.id}`,

    async countAttempt(db, now, id) {
      if (columns.attempts === undefined || attemptsKey === undefined) return true;
      const [row] = await db
        .update(target)
        .set({ [attemptsKey]: sql`${columns.attempts} + 1` })
        .where(and(eq(columns.id, id), triable(now)))
        .returning({ id: columns.id });
      return row !== undefined;
    },

    async countMiss(db, now, id) {
      if (columns.attempts === undefined || attemptsKey === undefined) return;
      const attempts = columns.attempts;
      const set: Record<string, unknown> = { [attemptsKey]: sql`${attempts} + 1` };
      if (columns.revokedAt && revokedKey && hasAttemptLimit)
        set[revokedKey] =
          sql`case when ${attempts} + 1 >= ${maxAttempts} then ${now.toISOString()}::timestamptz else ${columns.revokedAt} end`;
      await db.update(target).set(set).where(eq(columns.id, id));
    },

    sweeper: (name, keepMs) => ({
      name,
      sweep: (db, now) =>
        deleteInBatches(db, target, columns.id, lt(columns.expiresAt, new Date(now.getTime() - keepMs))),
    }),

    async revoke(db, now, where) {
      if (revokedKey === undefined) throw new TypeError("This table keeps no revocation time");
      const rows = await db
        .update(target)
        .set({ [revokedKey]: now })
        .where(and(where, isNull(columns.usedAt), isNull(columns.revokedAt!)))
        .returning({ id: columns.id });
      return rows.length;
    },
  };
}

/** The property name drizzle knows a column by in `set({...})`. */
function columnKey(table: PgTable, column: PgColumn): string {
  for (const [key, value] of Object.entries(table)) if (value === column) return key;
  throw new TypeError(`The column ${column.name} is not in this table`);
}
