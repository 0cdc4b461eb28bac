import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { newId, PlatformError, randomToken, sha256, type Database, type RequestContext } from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import { mfaChallenges, users } from "../schema.ts";
import type { SignedIn } from "../sign-in/accounts.ts";
import type { StartSession } from "../sign-in/complete.ts";
import type { SignInThrottle } from "../sign-in/throttle.ts";
import type { Factors } from "./factors.ts";
import type { Passkeys } from "./passkeys.ts";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";

/** The `mfaToken` lives 5 minutes and dies after 5 wrong codes. */
export const MFA_TOKEN_TTL_MS = 5 * 60_000;
export const MFA_MAX_ATTEMPTS = 5;

export type SecondFactorMethod = "totp" | "recovery_code" | "passkey";

export interface ChallengeStart {
  userId: string;
  firstMethod: string;
  result: "session" | "tokens";
  redirectTo?: string | null;
}

export interface Challenges {
  create(db: Database, start: ChallengeStart): Promise<string>;
  /**
   * Checks the second factor. Only a verified factor produces a session, which records both methods.
   * Returns what the first step asked for (a session or tokens) and where to go next.
   */
  verify(input: { mfaToken: string; method: SecondFactorMethod; code?: string; assertion?: { ceremonyId: string; response: AuthenticationResponseJSON } }, request: RequestContext): Promise<SignedIn & { result: "session" | "tokens"; redirectTo: string | null }>;
  /** The live challenge an `mfaToken` names (for passkey options), or a 401. */
  find(mfaToken: string): Promise<{ id: string; userId: string }>;
}

export function createChallenges(context: AuthContext, parts: { factors: Factors; passkeys: Passkeys; throttle: SignInThrottle; startSession: StartSession }): Challenges {
  const { db, clock, audit } = context;

  async function live(mfaToken: string) {
    const [challenge] = /^[A-Za-z0-9_-]{43}$/.test(mfaToken)
      ? await db.select().from(mfaChallenges).where(and(eq(mfaChallenges.tokenHash, sha256(mfaToken)), isNull(mfaChallenges.consumedAt), gt(mfaChallenges.expiresAt, clock.now())))
      : [];
    if (challenge === undefined) throw new PlatformError("invalid_token", { detail: "The MFA token is not valid, was used, or has expired." });
    return challenge;
  }

  async function secondFactor(tx: Database, challenge: { id: string; userId: string }, input: Parameters<Challenges["verify"]>[0]): Promise<boolean> {
    if (input.method === "totp") return parts.factors.verifyTotp(tx, challenge.userId)(input.code ?? "");
    if (input.method === "recovery_code") return parts.factors.useRecoveryCode(tx, challenge.userId, input.code ?? "");
    if (input.assertion === undefined) return false;
    try {
      await parts.passkeys.verifyAssertion(tx, { ...input.assertion, purpose: "second_factor", userId: challenge.userId, mfaChallengeId: challenge.id });
      return true;
    } catch (error) {
      if (error instanceof PlatformError) return false;
      throw error;
    }
  }

  return {
    async create(tx, start) {
      const token = randomToken(32);
      const now = clock.now();
      await tx.insert(mfaChallenges).values({
        id: newId("mfaChallenge", now.getTime()),
        userId: start.userId,
        tokenHash: sha256(token),
        firstMethod: start.firstMethod,
        result: start.result,
        redirectTo: start.redirectTo ?? null,
        expiresAt: new Date(now.getTime() + MFA_TOKEN_TTL_MS),
        createdAt: now,
      });
      return token;
    },

    async find(mfaToken) {
      const challenge = await live(mfaToken);
      return { id: challenge.id, userId: challenge.userId };
    },

    async verify(input, request) {
      const now = clock.now();
      const challenge = await live(input.mfaToken);
      const [user] = await db.select({ emailNormalized: users.emailNormalized, status: users.status }).from(users).where(eq(users.id, challenge.userId));
      if (user === undefined || user.status !== "active") throw new PlatformError("invalid_token");
      // The account-level lockout counts second-factor failures across challenges too.
      const slot = await parts.throttle.reserve(db, user.emailNormalized);
      const outcome = await db.transaction(async (tx) => {
        const passed = await secondFactor(tx, challenge, input);
        if (!passed) {
          // Counted even though the answer is a failure: returned, not thrown, so it commits.
          await tx
            .update(mfaChallenges)
            .set({ attempts: sql`${mfaChallenges.attempts} + 1`, consumedAt: sql`case when ${mfaChallenges.attempts} + 1 >= ${MFA_MAX_ATTEMPTS} then ${now.toISOString()}::timestamptz else null end` })
            .where(eq(mfaChallenges.id, challenge.id));
          await audit.record(tx, { action: "mfa.factor_failed", actor: { type: "user", id: challenge.userId }, target: { type: "user", id: challenge.userId }, outcome: "failure", metadata: { method: input.method } }, request);
          return undefined;
        }
        const [claimed] = await tx.update(mfaChallenges).set({ consumedAt: now }).where(and(eq(mfaChallenges.id, challenge.id), isNull(mfaChallenges.consumedAt))).returning();
        if (claimed === undefined) return undefined;
        await audit.record(tx, { action: "mfa.factor_used", actor: { type: "user", id: challenge.userId }, target: { type: "user", id: challenge.userId }, metadata: { method: input.method } }, request);
        return parts.startSession(tx, challenge.userId, [challenge.firstMethod, input.method], request);
      });
      if (outcome === undefined) {
        await parts.throttle.recordFailure(db, user.emailNormalized, slot);
        throw new PlatformError("invalid_code");
      }
      await parts.throttle.recordSuccess(db, user.emailNormalized);
      return { ...outcome, result: challenge.result, redirectTo: challenge.redirectTo };
    },
  };
}
