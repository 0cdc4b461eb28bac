import { and, eq, exists, isNull, lt, or, sql } from "drizzle-orm";
import {
  deleteInBatches,
  auditInsert,
  compiled,
  type Compiled,
  insertFor,
  mintSecret,
  named,
  newId,
  PlatformError,
  secretHash,
  singleUse,
  type AuditEvent,
  type AuditLog,
  type Clock,
  type Config,
  type Database,
  type RequestContext,
  type Sweeper,
} from "@burrow/platform-core";
import { authSessions, refreshTokenFamilies, refreshTokens, users } from "../schema.ts";
import type { SessionClock, Sessions } from "../sessions/sessions.ts";

export interface Rotated {
  refreshToken: string;
  sessionId: string;
  userId: string;
  familyId: string;
  orgId: string | null;
}

/** The audit entry a rotation writes with it, for the family it rotated. */
export type RotationAudit = (family: Omit<Rotated, "refreshToken">) => AuditEvent;

/**
 * Refresh tokens: opaque, 256 bits, stored as SHA-256, in families bound to one session. Every use
 * returns a successor and retires the token used. A retired token presented again means it was
 * copied: the whole family and its session are revoked — except within the grace window, where
 * concurrent refreshes with one token (a mobile app waking several requests at once) all succeed.
 */
export interface RefreshTokens {
  /** Starts a family for a session; returns its first token. */
  start(db: Database, input: { sessionId: string; userId: string; orgId?: string | null }): Promise<string>;
  /**
   * Retires the token for its successor. `audited`: the entry written with the rotation, which
   * commits with it or not at all. `found`: told the family once it is known, before the rotation
   * writes, so that work needing only the user (an access token's claims) runs beside the write
   * rather than after it; a rotation refused after it is refused all the same.
   */
  rotate(
    token: string,
    request: RequestContext,
    audited?: RotationAudit,
    found?: (family: Omit<Rotated, "refreshToken">) => void,
  ): Promise<Rotated>;
  /** Revokes the token's family and its session (a native client's sign-out). */
  revoke(token: string, request: RequestContext): Promise<void>;
}

// A token is used once, by rotating it: `rotated_at` is its redemption (the family keeps the revocation).
const rotations = singleUse(refreshTokens, {
  id: refreshTokens.id,
  expiresAt: refreshTokens.expiresAt,
  usedAt: refreshTokens.rotatedAt,
});

/** The columns of a successor's row, written in the rotation's statement. */
const SUCCESSOR_KEYS = ["id", "familyId", "tokenHash", "createdAt", "expiresAt"] as const;

/**
 * Housekeeping: a family goes (with its tokens) a week after it ended — revoked or past its absolute
 * end. While a family lives its rotated tokens stay: a rotated token shown again is how reuse is caught.
 */
export const refreshFamilySweeper: Sweeper = {
  name: "auth.refresh_families",
  sweep: (db, now) => {
    const weekAgo = new Date(now.getTime() - 7 * 86_400_000);
    return deleteInBatches(
      db,
      refreshTokenFamilies,
      refreshTokenFamilies.id,
      or(lt(refreshTokenFamilies.revokedAt, weekAgo), lt(refreshTokenFamilies.expiresAt, weekAgo))!,
    );
  },
};

export function createRefreshTokens(options: {
  db: Database;
  config: Config;
  clock: Clock;
  audit: AuditLog;
  sessions: Sessions;
}): RefreshTokens {
  const { db, clock, audit, sessions } = options;
  const { refreshIdleMs, refreshLifetimeMs, refreshGraceMs } = options.config.tokens;

  const touchStatement = compiled(() => sessions.touching());

  /** The successor's row: a new secret in the family, idle-bounded, never past the family's end. */
  function successor(familyId: string, familyExpiresAt: Date) {
    const now = clock.now();
    const { secret, hash } = mintSecret();
    const row = {
      id: newId("refreshToken", now.getTime()),
      familyId,
      tokenHash: hash,
      createdAt: now,
      expiresAt: new Date(Math.min(now.getTime() + refreshIdleMs, familyExpiresAt.getTime())),
    };
    return { secret, row };
  }

  async function issue(tx: Database, familyId: string, familyExpiresAt: Date): Promise<string> {
    const { secret, row } = successor(familyId, familyExpiresAt);
    await tx.insert(refreshTokens).values(row);
    return secret;
  }

  const found = (tx: Database) =>
    tx
      .select({ token: refreshTokens, family: refreshTokenFamilies, session: authSessions, userStatus: users.status })
      .from(refreshTokens)
      .innerJoin(refreshTokenFamilies, eq(refreshTokenFamilies.id, refreshTokens.familyId))
      .innerJoin(authSessions, eq(authSessions.id, refreshTokenFamilies.sessionId))
      .innerJoin(users, eq(users.id, refreshTokenFamilies.userId));
  type Found = Awaited<ReturnType<ReturnType<typeof found>["where"]>>[number];
  /** What a rotation needs of what it read (a `Found`, or the little kept of a token issued here). */
  interface Rotation {
    token: Pick<Found["token"], "id" | "tokenHash" | "expiresAt" | "rotatedAt">;
    family: Pick<Found["family"], "id" | "userId" | "orgId" | "expiresAt" | "revokedAt">;
    session: SessionClock & Pick<Found["session"], "restriction">;
    userStatus: Found["userStatus"];
  }
  // The read every rotation starts with, built once.
  const findQuery = found(db)
    .where(eq(refreshTokens.tokenHash, sql.placeholder("hash")))
    .prepare("burrow_find_refresh_token");

  async function find(tx: Database, token: string): Promise<Found | undefined> {
    const hash = secretHash(token);
    if (hash === undefined) return undefined;
    const [row] = await (tx === db ? findQuery.execute({ hash }) : found(tx).where(eq(refreshTokens.tokenHash, hash)));
    return row;
  }

  /**
   * The tokens this node issued by rotating, by their hash, with what a rotation would read for them:
   * the token's id and expiry, its family, and its session as last written here. Redeeming one skips
   * the read. The claim statement still checks in the database that the token is unused and its
   * family, session and user are as they were, and whatever it refuses is judged again from a read.
   * A session's activity as known here is never later than the database's, so a session alive by it
   * is alive. A client refreshing on another node, or after a restart, pays the read as before.
   * Bounded: the oldest entry goes first.
   */
  const issuedHere = new Map<string, Rotation>();
  const ISSUED_HERE_MAX = 50_000;
  function remember(row: Rotation): void {
    if (issuedHere.size >= ISSUED_HERE_MAX) issuedHere.delete(issuedHere.keys().next().value!);
    issuedHere.set(row.token.tokenHash, row);
  }
  /** The token's row as issued here and still usable by what is known here, taken (each is used once). */
  function takeIssued(token: string, now: Date): Rotation | undefined {
    const hash = secretHash(token);
    const row = hash === undefined ? undefined : issuedHere.get(hash);
    if (row === undefined) return undefined;
    issuedHere.delete(row.token.tokenHash);
    return now < row.token.expiresAt && alive(row, now) ? row : undefined;
  }

  /** Whether the family may still be used at all: its session live and full, its user active. */
  const alive = ({ family, session, userStatus }: Rotation, now: Date) =>
    // A session past its idle timeout is over: a refresh must not bring it back to life.
    family.revokedAt === null &&
    now < family.expiresAt &&
    sessions.isLive(session) &&
    session.restriction === null &&
    userStatus === "active";

  const rotatedFamily = ({ family, session }: Rotation) => ({
    sessionId: session.id,
    userId: family.userId,
    familyId: family.id,
    orgId: family.orgId,
  });

  /**
   * The rotation won, in one statement: the token is redeemed while unused and unexpired, and its
   * family, session and user are still as read (neither revoked nor suspended since); only if it
   * was are its successor, the session's activity and the audit entry written. Built once for each
   * of its shapes (with or without the activity, the entry), then only run.
   */
  const claimStatements = new Map<string, Compiled<{ won: number }[]>>();
  function claimStatement(touch: boolean, audited: boolean) {
    const shape = `${touch}|${audited}`;
    let statement = claimStatements.get(shape);
    if (statement === undefined) {
      statement = compiled<{ won: number }>(() => {
        const won = sql`won`;
        const asRead = exists(
          db
            .select({ one: sql`1` })
            .from(refreshTokenFamilies)
            .innerJoin(authSessions, eq(authSessions.id, refreshTokenFamilies.sessionId))
            .innerJoin(users, eq(users.id, refreshTokenFamilies.userId))
            .where(
              and(
                eq(refreshTokenFamilies.id, sql.placeholder("familyId")),
                isNull(refreshTokenFamilies.revokedAt),
                isNull(authSessions.revokedAt),
                isNull(authSessions.restriction),
                eq(users.status, "active"),
              ),
            ),
        );
        const redeemed = and(eq(refreshTokens.id, sql.placeholder("tokenId")), asRead)!;
        const parts = [
          sql`won as (${rotations.redeeming(sql.placeholder("now"), redeemed)})`,
          sql`successor as (${insertFor(refreshTokens, SUCCESSOR_KEYS, "next.", won)})`,
        ];
        if (touch) parts.push(sql`touched as (${sessions.touching(sql`exists (select 1 from ${won})`)})`);
        if (audited) parts.push(sql`audited as (${auditInsert(won)})`);
        return sql`with ${sql.join(parts, sql`, `)} select count(*)::int as won from ${won}`;
      });
      claimStatements.set(shape, statement);
    }
    return statement;
  }

  /**
   * Claims the token for its successor (`claimStatement`). The successor's secret and its row as a
   * read would find it, or undefined when the token went first to another request or was revoked
   * meanwhile. "transaction": outside one (`tx` is the pool), when the audit entry needs more than
   * its row.
   */
  async function claim(
    tx: Database,
    row: Rotation,
    request: RequestContext,
    audited: RotationAudit | undefined,
  ): Promise<{ secret: string; following: Rotation } | undefined | "transaction"> {
    const event = audited?.(rotatedFamily(row));
    const entry = event === undefined ? undefined : audit.recording(event, request);
    if (event !== undefined && entry === undefined && tx === db) return "transaction";
    const next = successor(row.family.id, row.family.expiresAt);
    const touch = sessions.touchValues(row.session);
    const now = clock.now();
    const [result] = await claimStatement(touch !== undefined, entry !== undefined)(tx, {
      now,
      tokenId: row.token.id,
      familyId: row.family.id,
      ...named("next.", next.row),
      ...touch,
      ...entry,
    });
    if (result?.won !== 1) return undefined;
    if (event !== undefined && entry === undefined) await audit.record(tx, event, request);
    // Only what a rotation needs is kept (a few hundred bytes), not the rows read.
    const { family, session } = row;
    const following: Rotation = {
      token: { id: next.row.id, tokenHash: next.row.tokenHash, expiresAt: next.row.expiresAt, rotatedAt: null },
      family: {
        id: family.id,
        userId: family.userId,
        orgId: family.orgId,
        expiresAt: family.expiresAt,
        revokedAt: family.revokedAt,
      },
      session: {
        id: session.id,
        revokedAt: session.revokedAt,
        expiresAt: session.expiresAt,
        lastActiveAt: touch === undefined ? session.lastActiveAt : now,
        audience: session.audience,
        restriction: session.restriction,
      },
      userStatus: row.userStatus,
    };
    return { secret: next.secret, following };
  }

  async function revokeFamily(tx: Database, familyId: string, sessionId: string, reason: string): Promise<void> {
    const now = clock.now();
    await tx
      .update(refreshTokenFamilies)
      .set({ revokedAt: now, revokedReason: reason })
      .where(and(eq(refreshTokenFamilies.id, familyId), isNull(refreshTokenFamilies.revokedAt)));
    await sessions.revokeById(tx, sessionId, reason);
  }

  return {
    async start(tx, input) {
      const now = clock.now();
      const familyId = newId("refreshFamily", now.getTime());
      const expiresAt = new Date(now.getTime() + refreshLifetimeMs);
      await tx.insert(refreshTokenFamilies).values({
        id: familyId,
        sessionId: input.sessionId,
        userId: input.userId,
        orgId: input.orgId ?? null,
        createdAt: now,
        expiresAt,
      });
      return issue(tx, familyId, expiresAt);
    },

    async rotate(token, request, audited, found) {
      const invalid = () => new PlatformError("invalid_token", { detail: "The refresh token is not valid." });
      // Most rotations take one statement with no transaction, a read before it unless this node
      // issued the token: a token not yet used, of a live family. A refusal found by the read writes
      // nothing.
      const row = takeIssued(token, clock.now()) ?? (await find(db, token));
      if (row === undefined || !alive(row, clock.now())) throw invalid();
      // A token's family, and so its user and organization, never change: what is read again below
      // in a transaction is the same family.
      found?.(rotatedFamily(row));
      if (row.token.rotatedAt === null) {
        if (clock.now() >= row.token.expiresAt) throw invalid();
        const won = await claim(db, row, request, audited);
        if (won !== undefined && won !== "transaction") {
          remember(won.following);
          return { ...rotatedFamily(row), refreshToken: won.secret };
        }
      }
      // Used before, raced, or an audit entry with more to it: judged again in a transaction.
      const outcome = await db.transaction(async (tx): Promise<Rotated | "invalid" | "reused"> => {
        const row = await find(tx, token);
        const now = clock.now();
        if (row === undefined || !alive(row, now)) return "invalid";
        const rotated = (refreshToken: string): Rotated => ({ ...rotatedFamily(row), refreshToken });

        let rotatedAt = row.token.rotatedAt;
        if (rotatedAt === null) {
          if (now >= row.token.expiresAt) return "invalid";
          const won = await claim(tx, row, request, audited);
          if (won !== undefined && won !== "transaction") return rotated(won.secret);
          // Another request rotated it a moment ago: judge this one by the grace window.
          rotatedAt =
            (
              await tx
                .select({ rotatedAt: refreshTokens.rotatedAt })
                .from(refreshTokens)
                .where(eq(refreshTokens.id, row.token.id))
            )[0]?.rotatedAt ?? now;
        }
        if (refreshGraceMs > 0 && now.getTime() - rotatedAt.getTime() <= refreshGraceMs) {
          const touch = sessions.touchValues(row.session);
          if (touch !== undefined) await touchStatement(tx, touch);
          const secret = await issue(tx, row.family.id, row.family.expiresAt);
          const event = audited?.(rotatedFamily(row));
          if (event !== undefined) await audit.record(tx, event, request);
          return rotated(secret);
        }

        const { family, session } = row;
        await revokeFamily(tx, family.id, session.id, "refresh_token_reuse");
        await audit.record(
          tx,
          {
            action: "security.refresh_token_reuse",
            actor: { type: "anonymous" },
            target: { type: "user", id: family.userId },
            outcome: "denied",
            metadata: { familyId: family.id, sessionId: session.id },
          },
          request,
        );
        await audit.record(
          tx,
          {
            action: "refresh_token.family_revoked",
            actor: { type: "system" },
            target: { type: "user", id: family.userId },
            metadata: { familyId: family.id, reason: "reuse_detected" },
          },
          request,
        );
        return "reused";
      });
      // Thrown after the commit, so the revocation above stands.
      if (outcome === "invalid" || outcome === "reused") throw invalid();
      return outcome;
    },

    async revoke(token, request) {
      const hash = secretHash(token);
      if (hash !== undefined) issuedHere.delete(hash);
      await db.transaction(async (tx) => {
        const row = await find(tx, token);
        // Revoking an unknown token answers the same (RFC 7009): nothing to say about it.
        if (row === undefined) return;
        await revokeFamily(tx, row.family.id, row.session.id, "revoked_by_client");
        await audit.recordByUser(tx, row.family.userId, "refresh_token.family_revoked", request, {
          metadata: { familyId: row.family.id, reason: "revoked_by_client" },
        });
      });
    },
  };
}
