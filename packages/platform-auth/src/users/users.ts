import { and, asc, eq, gt, ilike, isNull, or, sql, type Placeholder, type SQL } from "drizzle-orm";
import {
  isId,
  newId,
  PlatformError,
  type AuditAction,
  type Database,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import type { SessionRow, Sessions } from "../sessions/sessions.ts";
import { signInThrottles, USER_STATUSES, userEmails, users, type UserStatus } from "../schema.ts";

export type UserRow = typeof users.$inferSelect;

/** A user as the user (and API clients acting for them) may see it: no private metadata. */
export interface PublicUser {
  id: UserId;
  email: string;
  name: string | null;
  avatarUrl: string | null;
  metadata: Record<string, unknown>;
  status: UserStatus;
  emailVerified: boolean;
  emailVerifiedAt: string | null;
  lastSignInAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * The form used for uniqueness and look-ups: trimmed, NFKC, lower-cased. Local parts are
 * case-insensitive in practice everywhere users sign in; dots and +tags are kept (providers differ).
 */
export function normalizeEmail(email: string): string {
  return email.trim().normalize("NFKC").toLowerCase();
}

export function toPublicUser(row: UserRow): PublicUser {
  return {
    id: row.id as UserId,
    email: row.email,
    name: row.name,
    avatarUrl: row.avatarUrl,
    metadata: row.metadata,
    status: row.status,
    emailVerified: row.emailVerifiedAt !== null,
    emailVerifiedAt: row.emailVerifiedAt?.toISOString() ?? null,
    lastSignInAt: row.lastSignInAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export interface ProfileChanges {
  name?: string | null;
  avatarUrl?: string | null;
  metadata?: Record<string, unknown>;
}

export interface UserSearch {
  /** Matches an id exactly, or an email or name by substring. */
  query?: string;
  status?: UserStatus;
  /** The last id of the previous page. */
  cursor?: string;
  limit?: number;
}

export interface Users {
  /** The account an address belongs to: its primary one, or another one it has verified. */
  findByEmail(db: Database, email: string): Promise<UserRow | undefined>;
  /**
   * As `findByEmail`, read under the address's lock (`lockAddress`) for the rest of the transaction:
   * for a change that makes a new account the address's holder (a sign-up, a first social login, an
   * invitation's new account, an operator's), so that another account proving the address at that
   * moment goes before it (and is found here) or after it (and finds it).
   */
  claimAddress(tx: Database, email: string): Promise<UserRow | undefined>;
  get(db: Database, id: UserId): Promise<UserRow | undefined>;
  /**
   * The live account's row, locked until the transaction ends (`not_found` once deleted). Changes to
   * one account made at once queue behind it, and each sees what the one before it left.
   */
  locked(tx: Database, id: UserId): Promise<UserRow>;
  insert(
    db: Database,
    input: { email: string; name?: string | null; status?: UserStatus; emailVerified?: boolean },
  ): Promise<UserRow>;
  /** `actor` is the user themselves unless an operator makes the change. */
  updateProfile(
    db: Database,
    id: UserId,
    changes: ProfileChanges,
    request: RequestContext,
    actor?: UserId,
  ): Promise<PublicUser>;
  /** Server-side only: replaces the private metadata. */
  setPrivateMetadata(db: Database, id: UserId, privateMetadata: Record<string, unknown>): Promise<void>;
  markEmailVerified(db: Database, id: UserId): Promise<void>;
  search(db: Database, search: UserSearch): Promise<{ data: UserRow[]; nextCursor: string | null }>;
  /** How many accounts are in each status (deleted ones included). */
  countByStatus(db: Database): Promise<Record<UserStatus, number>>;
  /** Suspends and revokes every session at once. */
  suspend(db: Database, id: UserId, actor: UserId | "system", request: RequestContext): Promise<void>;
  unsuspend(db: Database, id: UserId, actor: UserId | "system", request: RequestContext): Promise<void>;
  /** Soft-deletes: status `deleted`, the address freed, every session revoked. */
  softDelete(db: Database, id: UserId, actor: UserId | "system", request: RequestContext): Promise<void>;
  /** The signed-in user deletes their own account: needs a recent authentication on the session. */
  deleteOwn(session: SessionRow, request: RequestContext): Promise<void>;
  /** Clears the sign-in lock on the user's address. */
  unlock(db: Database, id: UserId, actor: UserId | "system", request: RequestContext): Promise<void>;
}

const escapeLike = (value: string) => value.replace(/[\\%_]/g, (character) => `\\${character}`);

/**
 * The live account's row, locked until the transaction ends (undefined once deleted): the one lock
 * every change to an account's state, addresses and factors takes first, so that changes made at
 * once queue and each sees what the one before it left. `no key update`: rows that only reference
 * the account (sessions, audit entries) are still written meanwhile.
 */
export async function lockUser(tx: Database, id: string): Promise<UserRow | undefined> {
  const [row] = await tx
    .select()
    .from(users)
    .where(and(eq(users.id, id), isNull(users.deletedAt)))
    .for("no key update");
  return row;
}

/**
 * An address's own lock, for the rest of the transaction: taken by every change that makes an
 * account the holder of a proven address (an email change's confirmation, an added address's
 * verification), before any account's lock. The address lives in two tables (an account's primary
 * address, its added ones) that no one unique index spans, so two accounts proving it at once
 * queue here, and the second sees the first's.
 */
export async function lockAddress(tx: Database, normalized: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`burrow.address:${normalized}`}, 0))`);
}

export function createUsers(context: AuthContext, parts: { sessions: Sessions }): Users {
  const { clock, audit } = context;
  const actorOf = (actor: UserId | "system") =>
    actor === "system" ? ({ type: "system" } as const) : ({ type: "user", id: actor } as const);

  async function requireUser(db: Database, id: UserId): Promise<UserRow> {
    const [row] = await db
      .select()
      .from(users)
      .where(and(eq(users.id, id), isNull(users.deletedAt)));
    if (row === undefined) throw new PlatformError("not_found");
    return row;
  }

  async function setStatus(
    db: Database,
    id: UserId,
    status: UserStatus,
    action: AuditAction,
    actor: UserId | "system",
    request: RequestContext,
    extra: Partial<UserRow> = {},
  ): Promise<void> {
    const row = await requireUser(db, id);
    // A deletion may be refused (an organization's only owner): asked with the account locked, before
    // anything changes — the account's lock first, then whatever the check locks (its organizations).
    if (status === "deleted") {
      if ((await lockUser(db, row.id)) === undefined) throw new PlatformError("not_found");
      await context.beforeUserDeleted(db, row.id, { actor, request });
    }
    const now = clock.now();
    // Only a live row changes: a deletion that committed since the read above leaves nothing to update,
    // so of concurrent deletions exactly one goes on (and is audited) and the others are 404s.
    const [changed] = await db
      .update(users)
      .set({ status, updatedAt: now, ...extra })
      .where(and(eq(users.id, row.id), isNull(users.deletedAt)))
      .returning({ id: users.id });
    if (changed === undefined) throw new PlatformError("not_found");
    await parts.sessions.changed(db, { userId: row.id });
    if (status !== "active") {
      await parts.sessions.revokeAll(db, row.id as UserId, action);
      await context.onUserDeactivated(db, row.id);
    }
    await audit.record(db, { action, actor: actorOf(actor), target: { type: "user", id: row.id } }, request);
  }

  async function findByEmail(db: Database, email: string): Promise<UserRow | undefined> {
    const [row] = await db
      .select()
      .from(users)
      .where(and(holdsAddress(normalizeEmail(email)), isNull(users.deletedAt)));
    return row;
  }

  return {
    findByEmail,

    async claimAddress(tx, email) {
      await lockAddress(tx, normalizeEmail(email));
      return findByEmail(tx, email);
    },

    async get(db, id) {
      const [row] = await db
        .select()
        .from(users)
        .where(and(eq(users.id, id), isNull(users.deletedAt)));
      return row;
    },

    async locked(tx, id) {
      const row = await lockUser(tx, id);
      if (row === undefined || row.status === "deleted") throw new PlatformError("not_found");
      return row;
    },

    async insert(db, input) {
      const now = clock.now();
      const [row] = await db
        .insert(users)
        .values({
          id: newId("user", now.getTime()),
          email: input.email.trim(),
          emailNormalized: normalizeEmail(input.email),
          name: input.name ?? null,
          status: input.status ?? "active",
          emailVerifiedAt: input.emailVerified === true ? now : null,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      return row!;
    },

    async updateProfile(db, id, changes, request, actor = id) {
      await requireUser(db, id);
      const set: Partial<UserRow> = { updatedAt: clock.now() };
      if (changes.name !== undefined) set.name = changes.name;
      if (changes.avatarUrl !== undefined) set.avatarUrl = changes.avatarUrl;
      if (changes.metadata !== undefined) set.metadata = changes.metadata;
      // Only a live row: the account deleted since the read above (its own deletion at the same moment)
      // is not changed after the fact.
      const [row] = await db
        .update(users)
        .set(set)
        .where(and(eq(users.id, id), isNull(users.deletedAt)))
        .returning();
      if (row === undefined) throw new PlatformError("not_found");
      await parts.sessions.changed(db, { userId: id });
      await audit.record(
        db,
        {
          action: "user.profile_updated",
          actor: { type: "user", id: actor },
          target: { type: "user", id },
          metadata: { fields: Object.keys(changes) },
        },
        request,
      );
      return toPublicUser(row!);
    },

    async setPrivateMetadata(db, id, privateMetadata) {
      await requireUser(db, id);
      await db.update(users).set({ privateMetadata, updatedAt: clock.now() }).where(eq(users.id, id));
    },

    async markEmailVerified(db, id) {
      const now = clock.now();
      await db
        .update(users)
        .set({ emailVerifiedAt: now, updatedAt: now })
        .where(and(eq(users.id, id), isNull(users.emailVerifiedAt)));
      await parts.sessions.changed(db, { userId: id });
    },

    async countByStatus(db) {
      const rows = await db
        .select({ status: users.status, count: sql<number | string>`count(*)` })
        .from(users)
        .groupBy(users.status);
      const counts = Object.fromEntries(USER_STATUSES.map((status) => [status, 0])) as Record<UserStatus, number>;
      for (const row of rows) counts[row.status] = Number(row.count);
      return counts;
    },

    async search(db, search) {
      const limit = Math.min(Math.max(search.limit ?? 50, 1), 200);
      const conditions: (SQL | undefined)[] = [isNull(users.deletedAt)];
      if (search.status === "deleted") conditions[0] = eq(users.status, "deleted");
      else if (search.status !== undefined) conditions.push(eq(users.status, search.status));
      const query = search.query?.trim();
      if (query !== undefined && query !== "") {
        if (isId("user", query)) conditions.push(eq(users.id, query));
        else {
          const pattern = `%${escapeLike(query.normalize("NFKC"))}%`;
          conditions.push(or(ilike(users.emailNormalized, pattern.toLowerCase()), ilike(users.name, pattern)));
        }
      }
      if (search.cursor !== undefined) conditions.push(gt(users.id, search.cursor));
      const rows = await db
        .select()
        .from(users)
        .where(and(...conditions))
        .orderBy(asc(users.id))
        .limit(limit + 1);
      const page = rows.slice(0, limit);
      return { data: page, nextCursor: rows.length > limit ? page.at(-1)!.id : null };
    },

    suspend: (db, id, actor, request) => setStatus(db, id, "suspended", "user.suspended", actor, request),
    async unsuspend(db, id, actor, request) {
      const row = await requireUser(db, id);
      if (row.status !== "suspended")
        throw new PlatformError("not_suspended", { detail: "The user is not suspended." });
      await setStatus(db, id, "active", "user.unsuspended", actor, request);
    },
    softDelete: (db, id, actor, request) =>
      setStatus(db, id, "deleted", "user.deleted", actor, request, { deletedAt: clock.now() }),
    async deleteOwn(session, request) {
      parts.sessions.assertRecent(session);
      const userId = session.userId as UserId;
      await context.db.transaction((tx) =>
        setStatus(tx, userId, "deleted", "user.deleted", userId, request, { deletedAt: clock.now() }),
      );
    },
    async unlock(db, id, actor, request) {
      const row = await requireUser(db, id);
      await db.delete(signInThrottles).where(eq(signInThrottles.key, row.emailNormalized));
      await audit.record(
        db,
        { action: "user.unlocked", actor: actorOf(actor), target: { type: "user", id: row.id } },
        request,
      );
    },
  };
}

/**
 * The account an address belongs to: its primary address, or another one it has verified (at most
 * one account can have, by the unique index). Unverified added addresses sign no one in.
 */
export const holdsAddress = (normalized: string | Placeholder): SQL =>
  sql`(${users.emailNormalized} = ${normalized} or ${users.id} = (select ${userEmails.userId} from ${userEmails} where ${userEmails.emailNormalized} = ${normalized} and ${userEmails.verifiedAt} is not null))`;
