import { and, eq, isNull, lt, or } from "drizzle-orm";
import {
  deleteInBatches,
  mintSecret,
  newId,
  PlatformError,
  secretHash,
  singleUse,
  type AuditLog,
  type Clock,
  type Config,
  type Database,
  type RequestContext,
  type Sweeper,
} from "@burrow/platform-core";
import { authSessions, refreshTokenFamilies, refreshTokens, users } from "../schema.ts";
import type { Sessions } from "../sessions/sessions.ts";

export interface Rotated {
  refreshToken: string;
  sessionId: string;
  userId: string;
  familyId: string;
  orgId: string | null;
}

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
   * Retires the token for its successor. `issue` runs inside the same transaction once the rotation
   * is won (record the audit entry, through `tx` only): if it throws, the rotation rolls back and the
   * token presented still works; if it succeeds, both commit together.
   */
  rotate<T = undefined>(
    token: string,
    request: RequestContext,
    issue?: (tx: Database, rotated: Rotated) => Promise<T>,
  ): Promise<Rotated & { issued: T }>;
  /** Revokes the token's family and its session (a native client's sign-out). */
  revoke(token: string, request: RequestContext): Promise<void>;
}

// A token is used once, by rotating it: `rotated_at` is its redemption (the family keeps the revocation).
const rotations = singleUse(refreshTokens, {
  id: refreshTokens.id,
  expiresAt: refreshTokens.expiresAt,
  usedAt: refreshTokens.rotatedAt,
});

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

  async function issue(tx: Database, familyId: string, familyExpiresAt: Date): Promise<string> {
    const now = clock.now();
    const { secret: token, hash } = mintSecret();
    await tx.insert(refreshTokens).values({
      id: newId("refreshToken", now.getTime()),
      familyId,
      tokenHash: hash,
      createdAt: now,
      expiresAt: new Date(Math.min(now.getTime() + refreshIdleMs, familyExpiresAt.getTime())),
    });
    return token;
  }

  async function find(tx: Database, token: string) {
    const hash = secretHash(token);
    if (hash === undefined) return undefined;
    const [row] = await tx
      .select({ token: refreshTokens, family: refreshTokenFamilies, session: authSessions, userStatus: users.status })
      .from(refreshTokens)
      .innerJoin(refreshTokenFamilies, eq(refreshTokenFamilies.id, refreshTokens.familyId))
      .innerJoin(authSessions, eq(authSessions.id, refreshTokenFamilies.sessionId))
      .innerJoin(users, eq(users.id, refreshTokenFamilies.userId))
      .where(eq(refreshTokens.tokenHash, hash));
    return row;
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

    async rotate(token, request, then) {
      type Outcome = Rotated & { issued: Awaited<ReturnType<NonNullable<typeof then>>> };
      const outcome = await db.transaction(async (tx): Promise<Outcome | "invalid" | "reused"> => {
        const row = await find(tx, token);
        const now = clock.now();
        if (row === undefined) return "invalid";
        const { family, session } = row;
        // A session past its idle timeout is over: a refresh must not bring it back to life.
        const alive =
          family.revokedAt === null &&
          now < family.expiresAt &&
          sessions.isLive(session) &&
          session.restriction === null &&
          row.userStatus === "active";
        if (!alive) return "invalid";
        const result = async (refreshToken: string): Promise<Outcome> => {
          const rotated: Rotated = {
            refreshToken,
            sessionId: session.id,
            userId: family.userId,
            familyId: family.id,
            orgId: family.orgId,
          };
          return { ...rotated, issued: then === undefined ? (undefined as never) : await then(tx, rotated) };
        };
        // A refresh is use of the session: it keeps the session's idle clock running.
        await sessions.touch(tx, session);

        let rotatedAt = row.token.rotatedAt;
        if (rotatedAt === null) {
          if (now >= row.token.expiresAt) return "invalid";
          const won = await rotations.redeem(tx, now, eq(refreshTokens.id, row.token.id));
          if (won !== undefined) return await result(await issue(tx, family.id, family.expiresAt));
          // Another request rotated it a moment ago: judge this one by the grace window.
          rotatedAt =
            (
              await tx
                .select({ rotatedAt: refreshTokens.rotatedAt })
                .from(refreshTokens)
                .where(eq(refreshTokens.id, row.token.id))
            )[0]?.rotatedAt ?? now;
        }
        if (refreshGraceMs > 0 && now.getTime() - rotatedAt.getTime() <= refreshGraceMs)
          return await result(await issue(tx, family.id, family.expiresAt));

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
      if (outcome === "invalid" || outcome === "reused")
        throw new PlatformError("invalid_token", { detail: "The refresh token is not valid." });
      return outcome;
    },

    async revoke(token, request) {
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
