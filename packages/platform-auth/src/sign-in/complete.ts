import { eq } from "drizzle-orm";
import type { Database, RequestContext, UserId } from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import type { Challenges } from "../mfa/challenges.ts";
import type { Factors } from "../mfa/factors.ts";
import { users } from "../schema.ts";
import type { Sessions } from "../sessions/sessions.ts";
import { toPublicUser } from "../users/users.ts";
import type { SignedIn } from "./accounts.ts";

/** Where a sign-in stands after its first factor. */
export type SignInOutcome =
  | ({ kind: "signed_in"; redirectTo: string | null } & SignedIn)
  | { kind: "mfa_required"; mfaToken: string; methods: string[] };

/** Creates the session and records the sign-in: the last step of every sign-in. */
export type StartSession = (tx: Database, userId: string, methods: string[], request: RequestContext, options?: { restriction?: "mfa_enrolment" }) => Promise<SignedIn>;

export function createSessionStarter(context: AuthContext, sessions: Sessions): StartSession {
  return async (tx, userId, methods, request, options = {}) => {
    const { session, token } = await sessions.create(tx, { userId: userId as UserId, methods, request, ...options });
    const [row] = await tx.update(users).set({ lastSignInAt: context.clock.now() }).where(eq(users.id, userId)).returning();
    await context.audit.record(tx, { action: "user.signed_in", actor: { type: "user", id: userId }, target: { type: "user", id: userId }, metadata: { methods, sessionId: session.id } }, request);
    return { user: toPublicUser(row!), session, token };
  };
}

export interface SignInCompletion {
  /**
   * Every way of signing in passes through here after its first factor: an account with an active
   * second factor gets an MFA challenge, never a session.
   */
  afterFirstFactor(tx: Database, userId: string, method: string, request: RequestContext, options?: { result?: "session" | "tokens"; redirectTo?: string | null }): Promise<SignInOutcome>;
  startSession: StartSession;
}

export function createSignInCompletion(context: AuthContext, parts: { startSession: StartSession; factors: Factors; challenges: Challenges }): SignInCompletion {
  const { audit } = context;
  const { startSession } = parts;

  return {
    startSession,
    async afterFirstFactor(tx, userId, method, request, options = {}) {
      const methods = await parts.factors.methods(tx, userId);
      if (methods.length > 0) {
        const mfaToken = await parts.challenges.create(tx, { userId, firstMethod: method, result: options.result ?? "session", redirectTo: options.redirectTo ?? null });
        await audit.record(tx, { action: "user.mfa_challenged", actor: { type: "user", id: userId }, target: { type: "user", id: userId }, metadata: { firstMethod: method } }, request);
        return { kind: "mfa_required", mfaToken, methods };
      }
      // Policy requires a factor this user lacks: a session that can do nothing but enrol one.
      if (await context.requiresMfa(tx, userId)) {
        await audit.record(tx, { action: "mfa.policy_enrolment_required", actor: { type: "user", id: userId }, target: { type: "user", id: userId } }, request);
        return { kind: "signed_in", redirectTo: options.redirectTo ?? null, ...(await startSession(tx, userId, [method], request, { restriction: "mfa_enrolment" })) };
      }
      return { kind: "signed_in", redirectTo: options.redirectTo ?? null, ...(await startSession(tx, userId, [method], request)) };
    },
  };
}
