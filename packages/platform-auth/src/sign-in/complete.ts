import { and, eq, getTableColumns, isNull, sql } from "drizzle-orm";
import {
  compiled,
  newId,
  PlatformError,
  qualified,
  together,
  type Database,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import type { ChallengeStart } from "../mfa/challenges.ts";
import { confirmedFactorTypes, methodsOf } from "../mfa/factors.ts";
import { authSessions, users } from "../schema.ts";
import type { SessionAudience, Sessions } from "../sessions/sessions.ts";
import type { SignInThrottle } from "./throttle.ts";
import { toPublicUser } from "../users/users.ts";
import type { SignedIn } from "./accounts.ts";
import type { KnownDevices } from "./devices.ts";
import type { Notices } from "../flows/notices.ts";

/**
 * What a sign-in is for: a session for the app, tokens (the token endpoint), or a session of the
 * admin console, which only operators get and which always takes a second factor.
 */
export type SignInResult = "session" | "tokens" | "admin_session";

/** Where a sign-in stands after its first factor. */
export type SignInOutcome =
  | ({ kind: "signed_in"; redirectTo: string | null } & SignedIn)
  | { kind: "mfa_required"; mfaToken: string; methods: string[] };

/**
 * Creates the session and records the sign-in: the last step of every sign-in. A sign-in from a
 * device the account has not used before is audited (a security event) and mailed to the user with
 * a "this wasn't me" link.
 */
export type StartSession = (
  tx: Database,
  userId: string,
  methods: string[],
  request: RequestContext,
  options?: { restriction?: "mfa_enrolment"; audience?: SessionAudience },
) => Promise<SignedIn>;

/**
 * What a sign-in's transaction leaves for after its commit, by transaction (`SignInCompletion.transaction`
 * fills it). The one thing now: telling every node that the user changed (their last sign-in time), for
 * their cached sessions. Sent inside the transaction, that NOTIFY would hold PostgreSQL's notification
 * lock through the commit's flush, so sign-ins in flight would flush their commits one after another
 * instead of together (docs/benchmarks.md). It is not a revocation;
 * a node that missed it (the process stopped after the commit) serves the old time until its cache
 * entry expires (60 s). A user with no other live session needs none: caches serve live sessions only.
 */
const afterCommit = new WeakMap<Database, (() => Promise<void>)[]>();

export function createSessionStarter(
  context: AuthContext,
  parts: { sessions: Sessions; devices: KnownDevices; notices: Notices },
): StartSession {
  const { sessions, devices, notices } = parts;
  const signedIn = compiled((db) =>
    db
      .update(users)
      .set({ lastSignInAt: sql.placeholder("at") as unknown as Date })
      // Still active: an account deleted or suspended since the status check (whose transaction took
      // its row first) is not signed in after the fact with a session its revocation did not see.
      .where(and(eq(users.id, sql.placeholder("id")), eq(users.status, "active"), isNull(users.deletedAt)))
      .returning({
        ...getTableColumns(users),
        // Whether a node may hold another session of the user: a cache serves live sessions only.
        othersLive: sql<boolean>`exists (select 1 from ${authSessions} where ${qualified(authSessions.userId)} = ${qualified(users.id)} and ${qualified(authSessions.id)} <> ${sql.placeholder("sessionId")} and ${qualified(authSessions.revokedAt)} is null and ${qualified(authSessions.expiresAt)} > ${sql.placeholder("since")}::timestamptz)`,
      }),
  );
  return async (tx, userId, methods, request, options = {}) => {
    // Only a builder's hook needs the user read before the session starts.
    if (context.beforeSignIn !== undefined)
      try {
        const [user] = await tx.select().from(users).where(eq(users.id, userId));
        await context.beforeSignIn({ user: toPublicUser(user!), methods, audience: options.audience ?? "app", db: tx });
      } catch (error) {
        throw error instanceof PlatformError ? denied(error, userId, "refused_by_app", request) : error;
      }
    // Five writes that need nothing from each other, sent together: the session's id is made first,
    // so its audit entry goes with it.
    const sessionId = newId("session", context.clock.now().getTime());
    // The user's other sessions carry the previous sign-in time: after the commit when this is a
    // sign-in's own transaction (see `afterCommit`), and only if the user has another live session;
    // else with the transaction.
    const committing = afterCommit.get(tx);
    const userChanged = () => sessions.changed(committing === undefined ? tx : context.db, { userId });
    const now = context.clock.now();
    const [{ session, token }, [row], , device] = await together([
      sessions.create(tx, { userId: userId as UserId, methods, request, ...options, id: sessionId }),
      signedIn(tx, { at: now, id: userId, sessionId, since: now.toISOString() }),
      committing === undefined ? userChanged() : undefined,
      devices.signedInFrom(tx, userId, request.userAgent),
      context.audit.recordByUser(tx, userId, "user.signed_in", request, { metadata: { methods, sessionId } }),
    ]);
    if (row === undefined) throw new PlatformError("invalid_credentials");
    if (committing !== undefined && row.othersLive) committing.push(userChanged);
    if (device.isNew) {
      await context.audit.recordByUser(tx, userId, "user.new_device_sign_in", request, {
        metadata: { device: device.label, sessionId: session.id },
      });
      if (row!.email !== null) await notices.sendNewSignIn(tx, { id: userId, email: row!.email }, device.label);
    }
    return { user: toPublicUser(row!), session, token };
  };
}

export interface SignInCompletion {
  /**
   * Every way of signing in passes through here after its first factor: the account's status is
   * checked, and an account with an active second factor gets an MFA challenge, never a session.
   */
  afterFirstFactor(
    tx: Database,
    userId: string,
    method: string,
    request: RequestContext,
    options?: { result?: SignInResult; redirectTo?: string | null; orgId?: string | null },
  ): Promise<SignInOutcome>;
  /**
   * The end of a sign-in whose factors are all proven (an MFA challenge answered, or a passkey with
   * user verification, which is two factors in one): the account's status is checked again, and for
   * the admin console that the account still holds a platform permission.
   */
  afterAllFactors(
    tx: Database,
    userId: string,
    methods: string[],
    request: RequestContext,
    options?: { result?: SignInResult },
  ): Promise<SignedIn>;
  /**
   * An operator's way in as the user (impersonation): the same status check as any sign-in, then a
   * 30-minute session that names the operator. Not the user's sign-in: no sign-in is recorded for
   * them and no new-device mail goes out; the start is audited with the operator as actor.
   */
  impersonate(tx: Database, userId: string, operatorId: string, request: RequestContext): Promise<SignedIn>;
  /**
   * The transaction a sign-in runs in. A refusal by the status check rolls it back, and its audit
   * entry is written after the rollback, so refusals are recorded and nothing else of the attempt is.
   * What need not hold the commit (telling other nodes the user changed) is done after it, before
   * this returns.
   */
  transaction<T>(work: (tx: Database) => Promise<T>): Promise<T>;
}

/** Marks a refusal whose audit entry must outlive the rolled-back transaction. */
const DENIAL = Symbol("sign-in denial");
type Denial = { [DENIAL]?: { entry: Parameters<AuthContext["audit"]["record"]>[1]; request: RequestContext } };

/** Marks a refusal of a sign-in to be audited after its transaction rolls back. */
function denied(error: PlatformError, userId: string, reason: string, request: RequestContext): PlatformError {
  const entry = {
    action: "user.sign_in_failed",
    actor: { type: "user", id: userId },
    target: { type: "user", id: userId },
    outcome: "denied",
    metadata: { reason },
  } as const;
  return Object.assign(error, { [DENIAL]: { entry, request } });
}

export function createSignInCompletion(
  context: AuthContext,
  parts: {
    startSession: StartSession;
    sessions: Pick<Sessions, "create">;
    throttle: SignInThrottle;
    createChallenge: (tx: Database, start: ChallengeStart) => Promise<string>;
  },
): SignInCompletion {
  const { audit } = context;
  const { startSession } = parts;
  const standing = compiled((db) =>
    db
      .select({
        status: users.status,
        deletedAt: users.deletedAt,
        lockedUntil: parts.throttle.lockedUntil(users.emailNormalized),
        factorTypes: confirmedFactorTypes(users.id),
      })
      .from(users)
      .where(eq(users.id, sql.placeholder("id"))),
  );

  /**
   * One status check for every path: a suspended account is told so (the caller has just proven who
   * they are), a deleted or not-yet-set-up one gets the answer an unknown account gets, and a locked
   * one (too many wrong passwords or codes) waits out its lock whichever way it signs in. Read in
   * the same statement: the account's second-factor methods, returned.
   */
  async function assertActive(
    tx: Database,
    userId: string,
    request: RequestContext,
  ): Promise<("totp" | "passkey" | "recovery_code")[]> {
    const [user] = await standing(tx, { id: userId });
    if (user === undefined || user.deletedAt !== null || user.status === "deleted" || user.status === "invited")
      throw new PlatformError("invalid_credentials");
    const deny = (error: PlatformError, reason: string) => denied(error, userId, reason, request);
    if (user.status === "suspended") throw deny(new PlatformError("account_suspended"), "suspended");
    try {
      parts.throttle.assertUnlocked(user.lockedUntil);
    } catch (error) {
      throw error instanceof PlatformError ? deny(error, "locked") : error;
    }
    return methodsOf(user.factorTypes);
  }

  /** The admin console is for operators: anyone else is refused after proving who they are. */
  async function assertOperator(tx: Database, userId: string, request: RequestContext): Promise<void> {
    if (!(await context.mayOperate(tx, userId)))
      throw denied(
        new PlatformError("forbidden", { detail: "This account has no access to the admin console." }),
        userId,
        "not_an_operator",
        request,
      );
  }

  return {
    async transaction(work) {
      const committed: (() => Promise<void>)[] = [];
      let result: Awaited<ReturnType<typeof work>>;
      try {
        result = await context.db.transaction((tx) => {
          afterCommit.set(tx, committed);
          return work(tx);
        });
      } catch (error) {
        const denial = typeof error === "object" && error !== null ? (error as Denial)[DENIAL] : undefined;
        if (denial !== undefined) await audit.record(context.db, denial.entry, denial.request);
        throw error;
      }
      for (const then of committed) await then();
      return result;
    },

    async afterFirstFactor(tx, userId, method, request, options = {}) {
      const admin = options.result === "admin_session";
      // Every check is a read: they go together, and the status check (which also reads the
      // second factors) still decides first.
      const [methods, , policyRequiresMfa] = await together([
        assertActive(tx, userId, request),
        admin ? assertOperator(tx, userId, request) : undefined,
        admin || context.requiresMfa(tx, userId),
      ]);
      if (methods.length > 0) {
        const mfaToken = await parts.createChallenge(tx, {
          userId,
          firstMethod: method,
          result: options.result ?? "session",
          redirectTo: options.redirectTo ?? null,
          orgId: options.orgId ?? null,
        });
        await audit.recordByUser(tx, userId, "user.mfa_challenged", request, { metadata: { firstMethod: method } });
        return { kind: "mfa_required", mfaToken, methods };
      }
      // Policy requires a factor this user lacks (the console always does): a session that can do
      // nothing but enrol one.
      if (policyRequiresMfa) {
        // Access tokens are verified offline and cannot carry the restriction, so a token grant gets
        // nothing — and rolls back, leaving no session behind that nobody holds.
        if (options.result === "tokens")
          throw denied(
            new PlatformError("mfa_enrolment_required", { detail: "Set up a second factor before using tokens." }),
            userId,
            "mfa_enrolment_required",
            request,
          );
        await audit.recordByUser(tx, userId, "mfa.policy_enrolment_required", request);
        return {
          kind: "signed_in",
          redirectTo: options.redirectTo ?? null,
          ...(await startSession(tx, userId, [method], request, {
            restriction: "mfa_enrolment",
            audience: admin ? "admin" : "app",
          })),
        };
      }
      return {
        kind: "signed_in",
        redirectTo: options.redirectTo ?? null,
        ...(await startSession(tx, userId, [method], request)),
      };
    },

    async impersonate(tx, userId, operatorId, request) {
      await assertActive(tx, userId, request);
      const { session, token } = await parts.sessions.create(tx, {
        userId: userId as UserId,
        methods: ["impersonation"],
        request,
        impersonatorId: operatorId,
      });
      await audit.record(
        tx,
        {
          action: "user.impersonation_started",
          actor: { type: "user", id: operatorId },
          target: { type: "user", id: userId },
          metadata: { sessionId: session.id, expiresAt: session.expiresAt.toISOString() },
        },
        request,
      );
      const [row] = await tx.select().from(users).where(eq(users.id, userId));
      return { user: toPublicUser(row!), session, token };
    },

    async afterAllFactors(tx, userId, methods, request, options = {}) {
      await assertActive(tx, userId, request);
      if (options.result !== "admin_session") return startSession(tx, userId, methods, request);
      await assertOperator(tx, userId, request);
      return startSession(tx, userId, methods, request, { audience: "admin" });
    },
  };
}
