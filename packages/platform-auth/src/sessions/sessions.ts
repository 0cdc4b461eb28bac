import { and, desc, eq, gt, isNull, lt, ne, or, sql, type SQL } from "drizzle-orm";
import {
  compiled,
  constantTimeEqual,
  deleteInBatches,
  newId,
  placeholders,
  PlatformError,
  sha256,
  type Config,
  type Database,
  type Sweeper,
  type RequestContext,
  type SessionId,
  type UserId,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import { ADMIN_SESSION_LIFETIMES, IMPERSONATION, REAUTHENTICATION_WINDOW_MS } from "../flows/lifetimes.ts";
import { authSessions, users } from "../schema.ts";
import { toPublicUser, type PublicUser } from "../users/users.ts";
import { createSessionCache, sessionAnswerJson, type SessionCache, type SessionChange } from "./cache.ts";
import { formatSessionToken, newSessionSecret, parseSessionToken } from "./tokens.ts";

/** The columns a session is created with (it starts unrevoked). */
const SESSION_KEYS = [
  "id",
  "secretHash",
  "userId",
  "createdAt",
  "expiresAt",
  "lastActiveAt",
  "ip",
  "userAgent",
  "authMethods",
  "authenticatedAt",
  "restriction",
  "audience",
  "impersonatorId",
] as const;

export type SessionRow = typeof authSessions.$inferSelect;
/** What a session's liveness and its activity clock depend on. */
export type SessionClock = Pick<SessionRow, "id" | "revokedAt" | "expiresAt" | "lastActiveAt" | "audience">;

/** A live session the cache answered for: whose it is, and GET /v1/auth/session's answer for it. */
export interface PeekedSession {
  sessionId: string;
  userId: string;
  answerJson: string;
}

/** Who a session is for: the app and the API (`app`), or the admin console (`admin`). */
export type SessionAudience = SessionRow["audience"];

/** A session as its owner sees it. */
export interface PublicSession {
  id: string;
  createdAt: string;
  expiresAt: string;
  idleExpiresAt: string;
  lastActiveAt: string;
  userAgent: string | null;
  authMethods: string[];
  authenticatedAt: string;
  current: boolean;
  /** True while the session may only enrol a second factor (MFA policy). */
  restricted: boolean;
  /** The operator acting as the user, for an impersonation session: show a banner. */
  impersonatedBy: string | null;
}

export type SessionValidation =
  | { session: SessionRow; user: PublicUser; reason: null }
  | { session: null; user: null; reason: "malformed" | "unknown" | "expired" | "revoked" | "suspended" };

/**
 * `fresh`: read the database, never the cache — for what must see a revocation or a step-up made a
 * moment ago on another node (the HTTP edge asks it for every request that changes something).
 */
export interface ValidateOptions {
  fresh?: boolean;
}

export interface Sessions {
  /** Starts a new session; the token is returned once and never stored. */
  create(
    db: Database,
    input: {
      userId: UserId;
      methods: string[];
      request: RequestContext;
      restriction?: "mfa_enrolment";
      /** `admin` for the admin console: ADMIN_SESSION_LIFETIMES instead of the configured ones. */
      audience?: SessionAudience;
      /** An operator acting as the user: IMPERSONATION.sessionMs, and never a recent authentication. */
      impersonatorId?: string;
      /** An id made beforehand (`newId("session")`), so what records the session can be sent with it. */
      id?: SessionId;
    },
  ): Promise<{ session: SessionRow; token: string }>;
  /**
   * The hot path: one prepared query (session ⨝ user) and, on ≥99% of requests, no write —
   * last activity is written at most once per refresh interval. A session for another audience is
   * `unknown`: the console's token is no key to the API, nor the app's to the console.
   */
  validate(token: string, audience?: SessionAudience, options?: ValidateOptions): Promise<SessionValidation>;
  /** The same checks for a session named by a verified access token's `sid` (no secret to compare). */
  validateById(sessionId: string, options?: ValidateOptions): Promise<SessionValidation>;
  /**
   * `validate` (app audience, a read) answered from the cache alone, synchronously: a live session
   * held in the cache, or undefined when only `validate` can tell — not cached, the cache not
   * trusted, any check failing, or its last activity due to be written. Counted as `validate` counts.
   */
  peek(token: string): PeekedSession | undefined;
  /** `validateById` the same way (a verified access token's `sid`). */
  peekById(sessionId: string): PeekedSession | undefined;
  /**
   * Validated app sessions kept in memory (BURROW_SESSION_CACHE); its `listener` must be subscribed
   * (`openPlatform` does) before it serves anything.
   */
  cache: SessionCache;
  /**
   * Call inside the transaction that changes what a session's validation carries — above all its user
   * (status, profile, email): every node drops the cached sessions it names. The session mutations
   * here call it themselves.
   */
  changed(tx: Database, change: SessionChange): Promise<void>;
  list(db: Database, userId: UserId): Promise<SessionRow[]>;
  /** How many sessions of any user are live now (not ended, inside their lifetimes). */
  countLive(db: Database): Promise<number>;
  /** Revokes one of the user's sessions; false when the user has no such active session. */
  revoke(db: Database, userId: UserId, sessionId: SessionId, reason: string): Promise<boolean>;
  /**
   * The signed-in user ends one of their own sessions (audited). Another user's session and an
   * unknown one are both 404 `not_found`.
   */
  revokeOwn(caller: SessionRow, sessionId: SessionId, request: RequestContext): Promise<void>;
  /** The signed-in user ends every other session of theirs (audited); returns how many. */
  revokeOthers(caller: SessionRow, request: RequestContext): Promise<number>;
  /** Revokes a session by id alone (its refresh family was revoked). */
  revokeById(db: Database, sessionId: string, reason: string): Promise<void>;
  /** Revokes every active session of the user except `keep`; returns how many. */
  revokeAll(db: Database, userId: UserId, reason: string, keep?: SessionId): Promise<number>;
  /**
   * A sign-in issued `by` to a client that held `replaced`: the old session ends (ASVS V7.2.4), so
   * one planted before sign-in, or left behind by it, cannot be used on. The same session is kept.
   */
  endReplaced(db: Database, replaced: SessionRow, by: string): Promise<void>;
  /** Ends every live session of every account (an operator's emergency stop); returns how many. */
  revokeEveryone(db: Database, reason: string): Promise<number>;
  /** True while the session may be used now: not revoked, inside its idle and absolute lifetimes. */
  isLive(session: SessionClock): boolean;
  /**
   * Use of the session (a refresh) keeps its idle clock running: the values for `touching`'s
   * placeholders when its last activity is due to be written, else undefined. Written at most once
   * per activity-refresh interval, as validation writes it: a refresh every few seconds is no
   * reason for a write every few seconds.
   */
  touchValues(session: SessionClock): Record<string, unknown> | undefined;
  /** The write of `touchValues`, done only `when` that holds: a statement or a CTE of one, built once (`compiled`). */
  touching(when?: SQL): SQL;
  /**
   * A new secret for the session after it authenticates again (step-up, second factor enrolled):
   * the old token stops working (ASVS V7.2.4), so one seen before the stronger proof is worth nothing.
   */
  renew(db: Database, sessionId: string): Promise<string>;
  /**
   * MFA enrolment done: the user's sessions held back by the policy become full; the current one
   * (if named and restricted) gets a new token, returned.
   */
  liftRestriction(
    db: Database,
    userId: string,
    currentSessionId?: string,
  ): Promise<{ lifted: number; token: string | null }>;
  /** Throws 403 `reauthentication_required` unless the session authenticated within the window. */
  assertRecent(session: SessionRow): void;
  /** Records a fresh authentication on the session (step-up): its time, and the method used. */
  markAuthenticated(db: Database, session: SessionRow, method: string): Promise<void>;
  toPublic(session: SessionRow, currentId?: string): PublicSession;
  /** GET /v1/auth/session's answer for a session and its user, as JSON (what a cached check holds). */
  answerJson(caller: { session: SessionRow; user: PublicUser }): string;
}

/**
 * The step-up rule, in one place for every package: a sensitive change needs the session to have
 * authenticated within the last 10 minutes, or 403 `reauthentication_required`.
 */
export function assertRecentAuthentication(session: { authenticatedAt: Date }, now: Date): void {
  if (now.getTime() - session.authenticatedAt.getTime() > REAUTHENTICATION_WINDOW_MS)
    throw new PlatformError("reauthentication_required");
}

const WEEK_MS = 7 * 86_400_000;

/**
 * Housekeeping: a session goes a week after it ended — revoked, past its absolute end, or idle past
 * its timeout — so "signed out" and "expired" can still be told apart for a while (their audit
 * entries stay for the audit log's retention).
 */
export function sessionSweeper(config: Pick<Config, "session">): Sweeper {
  return {
    name: "auth.sessions",
    sweep: (db, now) => {
      const weekAgo = new Date(now.getTime() - WEEK_MS);
      return deleteInBatches(
        db,
        authSessions,
        authSessions.id,
        or(
          lt(authSessions.revokedAt, weekAgo),
          lt(authSessions.expiresAt, weekAgo),
          lt(authSessions.lastActiveAt, new Date(weekAgo.getTime() - config.session.idleTimeoutMs)),
        )!,
      );
    },
  };
}

export function createSessions(context: AuthContext): Sessions {
  const { clock, config, audit } = context;
  const lifetimes = (audience: SessionAudience) => (audience === "admin" ? ADMIN_SESSION_LIFETIMES : config.session);

  const validateQuery = context.db
    .select({ session: authSessions, user: users })
    .from(authSessions)
    .innerJoin(users, eq(users.id, authSessions.userId))
    .where(eq(authSessions.id, sql.placeholder("id")))
    .prepare("burrow_validate_session");
  // Validation's one write (last activity, once per interval), built once rather than per call.
  const touchQuery = context.db
    .update(authSessions)
    .set({ lastActiveAt: sql.placeholder("at") as unknown as Date })
    .where(eq(authSessions.id, sql.placeholder("id")))
    .prepare("burrow_touch_session");

  const cache = createSessionCache({
    maxEntries: config.sessionCache?.maxEntries,
    sessionJson: (session) => JSON.stringify(sessions.toPublic(session, session.id)),
    metrics: context.metrics,
  });

  /**
   * The session by id: from the cache when allowed and held (only what passed every check is
   * cached, and only app sessions: the console's are few and all sensitive), else from the database.
   * `secretHash`: the presented secret's, compared in constant time — the id is public, the secret
   * is what must not leak by timing. A cached entry that fails any check is read again rather than
   * refused: another node may have renewed it or kept it alive since.
   */
  async function lookup(
    sessionId: string,
    audience: SessionAudience,
    secretHash: string | undefined,
    options: ValidateOptions,
  ): Promise<SessionValidation> {
    const cacheable = options.fresh !== true && audience === "app";
    if (cacheable) {
      const hit = cache.get(sessionId);
      if (hit !== undefined && (secretHash === undefined || constantTimeEqual(hit.session.secretHash, secretHash))) {
        const checked = await check(hit);
        if (checked.session !== null) {
          cache.noteActivity(sessionId, checked.session.lastActiveAt);
          return checked;
        }
      }
    }
    const epoch = cache.epoch();
    const [row] = await validateQuery.execute({ id: sessionId });
    if (
      row === undefined ||
      (secretHash !== undefined && !constantTimeEqual(row.session.secretHash, secretHash)) ||
      row.session.audience !== audience
    )
      return { session: null, user: null, reason: "unknown" };
    const validation = await check({ session: row.session, user: toPublicUser(row.user) });
    if (cacheable && validation.session !== null) cache.store(validation, epoch);
    return validation;
  }

  /**
   * The checks, without the write: the verdict, or "touch" when the session is live but its last
   * activity is due to be written (only `check` does that). Times in epoch milliseconds: a cached
   * entry holds them so.
   */
  function verdict(
    session: { revokedAt: unknown; lastActiveAt: number; expiresAt: number; audience: SessionAudience },
    userStatus: PublicUser["status"],
    now: number,
  ): Exclude<SessionValidation["reason"], null> | "live" | "touch" {
    if (session.revokedAt !== null) return "revoked";
    const { idleTimeoutMs, activityRefreshMs } = lifetimes(session.audience);
    if (now >= Math.min(session.lastActiveAt + idleTimeoutMs, session.expiresAt)) return "expired";
    if (userStatus !== "active") return userStatus === "suspended" ? "suspended" : "revoked";
    if (now - session.lastActiveAt >= activityRefreshMs) return "touch";
    return "live";
  }

  async function check({ session, user }: { session: SessionRow; user: PublicUser }): Promise<SessionValidation> {
    const now = clock.now();
    const times = {
      revokedAt: session.revokedAt,
      lastActiveAt: session.lastActiveAt.getTime(),
      expiresAt: session.expiresAt.getTime(),
      audience: session.audience,
    };
    const outcome = verdict(times, user.status, now.getTime());
    if (outcome === "live") return { session, user, reason: null };
    if (outcome !== "touch") return { session: null, user: null, reason: outcome };
    await touchQuery.execute({ id: session.id, at: now });
    // A cached row is updated in place: this node then writes again only a refresh interval later.
    session.lastActiveAt = now;
    return { session, user, reason: null };
  }

  /** A cached, live session that needs no write, or undefined (then `lookup` decides). */
  function peekCached(sessionId: string, secretHash: string | undefined): PeekedSession | undefined {
    const held = cache.peek(sessionId);
    if (held === undefined || (secretHash !== undefined && !constantTimeEqual(held.secretHash, secretHash)))
      return undefined;
    if (verdict(held, held.userStatus, clock.now().getTime()) !== "live") return undefined;
    cache.countHit();
    return { sessionId: held.id, userId: held.userId, answerJson: cache.answerOf(held) };
  }

  const idleEnd = (session: SessionClock) =>
    new Date(
      Math.min(session.lastActiveAt.getTime() + lifetimes(session.audience).idleTimeoutMs, session.expiresAt.getTime()),
    );

  // Every sign-in's insert, built once.
  const inserting = compiled((db) => db.insert(authSessions).values(placeholders(SESSION_KEYS)).returning());

  const sessions: Sessions = {
    async create(db, { userId, methods, request, restriction, audience = "app", impersonatorId, id: madeId }) {
      const now = clock.now();
      const id = madeId ?? newId("session", now.getTime());
      const secret = newSessionSecret();
      const [session] = await inserting(db, {
        id,
        secretHash: sha256(secret),
        userId,
        createdAt: now,
        expiresAt: new Date(
          now.getTime() +
            (impersonatorId === undefined ? lifetimes(audience).absoluteLifetimeMs : IMPERSONATION.sessionMs),
        ),
        lastActiveAt: now,
        ip: audit.ipForStorage(request.ip),
        userAgent: request.userAgent?.slice(0, 512) ?? null,
        authMethods: methods,
        // An impersonation never passes a step-up: the operator does not know the user's secrets.
        authenticatedAt: impersonatorId === undefined ? now : new Date(0),
        restriction: restriction ?? null,
        audience,
        impersonatorId: impersonatorId ?? null,
      } satisfies Record<(typeof SESSION_KEYS)[number], unknown>);
      return { session: session!, token: formatSessionToken({ id, secret }) };
    },

    async validate(token, audience = "app", options = {}) {
      const parsed = parseSessionToken(token);
      const validation: SessionValidation =
        parsed === undefined
          ? { session: null, user: null, reason: "malformed" }
          : await lookup(parsed.id, audience, sha256(parsed.secret), options);
      context.metrics.count("sessions_validated_total", { outcome: validation.session === null ? "invalid" : "valid" });
      return validation;
    },

    validateById: (sessionId, options = {}) => lookup(sessionId, "app", undefined, options),

    peek(token) {
      const parsed = parseSessionToken(token);
      if (parsed === undefined) return undefined;
      const validation = peekCached(parsed.id, sha256(parsed.secret));
      if (validation !== undefined) context.metrics.count("sessions_validated_total", { outcome: "valid" });
      return validation;
    },

    peekById: (sessionId) => peekCached(sessionId, undefined),

    cache,
    changed: (tx, change) => cache.changed(tx, change),

    async list(db, userId) {
      const now = clock.now();
      const rows = await db
        .select()
        .from(authSessions)
        .where(and(eq(authSessions.userId, userId), isNull(authSessions.revokedAt)))
        .orderBy(desc(authSessions.lastActiveAt));
      return rows.filter((session) => now < idleEnd(session));
    },

    async countLive(db) {
      const now = clock.now();
      const idleSince = (audience: SessionAudience) => new Date(now.getTime() - lifetimes(audience).idleTimeoutMs);
      const [row] = await db
        .select({ count: sql<number | string>`count(*)` })
        .from(authSessions)
        .where(
          and(
            isNull(authSessions.revokedAt),
            gt(authSessions.expiresAt, now),
            or(
              and(eq(authSessions.audience, "app"), gt(authSessions.lastActiveAt, idleSince("app"))),
              and(eq(authSessions.audience, "admin"), gt(authSessions.lastActiveAt, idleSince("admin"))),
            ),
          ),
        );
      return Number(row?.count ?? 0);
    },

    async revoke(db, userId, sessionId, reason) {
      const revoked = await db
        .update(authSessions)
        .set({ revokedAt: clock.now(), revokedReason: reason })
        .where(and(eq(authSessions.id, sessionId), eq(authSessions.userId, userId), isNull(authSessions.revokedAt)))
        .returning({ id: authSessions.id });
      if (revoked.length > 0) await cache.changed(db, { sessionId });
      return revoked.length > 0;
    },

    async revokeOwn(caller, sessionId, request) {
      const revoked = await context.db.transaction(async (tx) => {
        const done = await sessions.revoke(tx, caller.userId as UserId, sessionId, "revoked_by_user");
        if (done)
          await audit.record(
            tx,
            {
              action: "session.revoked",
              actor: { type: "user", id: caller.userId },
              target: { type: "session", id: sessionId },
            },
            request,
          );
        return done;
      });
      if (!revoked) throw new PlatformError("not_found");
    },

    async revokeOthers(caller, request) {
      return context.db.transaction(async (tx) => {
        const count = await sessions.revokeAll(tx, caller.userId as UserId, "revoked_by_user", caller.id as SessionId);
        await audit.recordByUser(tx, caller.userId, "session.revoked_others", request, { metadata: { count } });
        return count;
      });
    },

    async revokeById(db, sessionId, reason) {
      await db
        .update(authSessions)
        .set({ revokedAt: clock.now(), revokedReason: reason })
        .where(and(eq(authSessions.id, sessionId), isNull(authSessions.revokedAt)));
      await cache.changed(db, { sessionId });
    },

    async revokeAll(db, userId, reason, keep) {
      const conditions = [eq(authSessions.userId, userId), isNull(authSessions.revokedAt)];
      if (keep !== undefined) conditions.push(ne(authSessions.id, keep));
      const revoked = await db
        .update(authSessions)
        .set({ revokedAt: clock.now(), revokedReason: reason })
        .where(and(...conditions))
        .returning({ id: authSessions.id });
      if (revoked.length > 0) await cache.changed(db, { userId });
      return revoked.length;
    },

    async endReplaced(db, replaced, by) {
      if (replaced.id === by) return;
      await db
        .update(authSessions)
        .set({ revokedAt: clock.now(), revokedReason: "replaced_by_sign_in" })
        .where(and(eq(authSessions.id, replaced.id), isNull(authSessions.revokedAt)));
      await cache.changed(db, { sessionId: replaced.id });
    },

    async revokeEveryone(db, reason) {
      const revoked = await db
        .update(authSessions)
        .set({ revokedAt: clock.now(), revokedReason: reason })
        .where(isNull(authSessions.revokedAt))
        .returning({ id: authSessions.id });
      await cache.changed(db, "*");
      return revoked.length;
    },

    isLive: (session) => session.revokedAt === null && clock.now() < idleEnd(session),

    touchValues(session) {
      const now = clock.now();
      if (now.getTime() - session.lastActiveAt.getTime() < lifetimes(session.audience).activityRefreshMs)
        return undefined;
      return { "touch.id": session.id, "touch.at": now };
    },

    touching: (when) =>
      context.db
        .update(authSessions)
        .set({ lastActiveAt: sql.placeholder("touch.at") as unknown as Date })
        .where(and(eq(authSessions.id, sql.placeholder("touch.id")), when))
        .getSQL(),

    async renew(db, sessionId) {
      const secret = newSessionSecret();
      await db
        .update(authSessions)
        .set({ secretHash: sha256(secret) })
        .where(eq(authSessions.id, sessionId));
      await cache.changed(db, { sessionId });
      return formatSessionToken({ id: sessionId as SessionId, secret });
    },

    async liftRestriction(db, userId, currentSessionId) {
      const lifted = await db
        .update(authSessions)
        .set({ restriction: null })
        .where(and(eq(authSessions.userId, userId), eq(authSessions.restriction, "mfa_enrolment")))
        .returning({ id: authSessions.id });
      if (lifted.length > 0) await cache.changed(db, { userId });
      const current = currentSessionId !== undefined && lifted.some((row) => row.id === currentSessionId);
      return { lifted: lifted.length, token: current ? await this.renew(db, currentSessionId) : null };
    },

    assertRecent(session) {
      assertRecentAuthentication(session, clock.now());
    },

    async markAuthenticated(db, session, method) {
      const authMethods = session.authMethods.includes(method) ? session.authMethods : [...session.authMethods, method];
      await db
        .update(authSessions)
        .set({ authenticatedAt: clock.now(), authMethods })
        .where(eq(authSessions.id, session.id));
      await cache.changed(db, { sessionId: session.id });
    },

    answerJson: ({ session, user }) =>
      sessionAnswerJson(JSON.stringify(user), JSON.stringify(sessions.toPublic(session, session.id))),

    toPublic(session, currentId) {
      return {
        id: session.id,
        createdAt: session.createdAt.toISOString(),
        expiresAt: session.expiresAt.toISOString(),
        idleExpiresAt: idleEnd(session).toISOString(),
        lastActiveAt: session.lastActiveAt.toISOString(),
        userAgent: session.userAgent,
        authMethods: session.authMethods,
        authenticatedAt: session.authenticatedAt.toISOString(),
        current: session.id === currentId,
        restricted: session.restriction !== null,
        impersonatedBy: session.impersonatorId,
      };
    },
  };
  return sessions;
}
