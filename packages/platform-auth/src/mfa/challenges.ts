import { eq } from "drizzle-orm";
import {
  mintSecret,
  newId,
  PlatformError,
  secretHash,
  singleUse,
  type Clock,
  type Database,
  type RequestContext,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import { mfaChallenges, users } from "../schema.ts";
import type { SignedIn } from "../sign-in/accounts.ts";
import type { SignInCompletion, SignInResult } from "../sign-in/complete.ts";
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
  result: SignInResult;
  redirectTo?: string | null;
  orgId?: string | null;
}

const challenges = singleUse(
  mfaChallenges,
  {
    id: mfaChallenges.id,
    expiresAt: mfaChallenges.expiresAt,
    usedAt: mfaChallenges.consumedAt,
    attempts: mfaChallenges.attempts,
  },
  { maxAttempts: MFA_MAX_ATTEMPTS },
);

export const mfaChallengeSweeper = challenges.sweeper("auth.mfa_challenges", 86_400_000);

/** The key of a user's second-factor failure counter: apart from the address's password counter. */
export const secondFactorKey = (userId: string): string => `mfa:${userId}`;

/** Stores a challenge for a passed first factor; returns its `mfaToken` (shown once, kept as a hash). */
export function createChallengeStore(clock: Clock): (tx: Database, start: ChallengeStart) => Promise<string> {
  return async (tx, start) => {
    const { secret: token, hash } = mintSecret();
    const now = clock.now();
    await tx.insert(mfaChallenges).values({
      id: newId("mfaChallenge", now.getTime()),
      userId: start.userId,
      tokenHash: hash,
      firstMethod: start.firstMethod,
      result: start.result,
      redirectTo: start.redirectTo ?? null,
      orgId: start.orgId ?? null,
      expiresAt: new Date(now.getTime() + MFA_TOKEN_TTL_MS),
      createdAt: now,
    });
    return token;
  };
}

export interface SecondFactorProof {
  method: SecondFactorMethod;
  code?: string;
  assertion?: { ceremonyId: string; response: AuthenticationResponseJSON };
}

export interface Challenges {
  /**
   * Checks the second factor. Only a verified factor produces a session, which records both methods.
   * Returns what the first step asked for (a session or tokens, for an organization) and where to go next.
   */
  verify(
    input: { mfaToken: string } & SecondFactorProof,
    request: RequestContext,
  ): Promise<SignedIn & { result: SignInResult; redirectTo: string | null; orgId: string | null }>;
  /** The live challenge an `mfaToken` names (for passkey options), or a 401. */
  find(mfaToken: string): Promise<{ id: string; userId: string }>;
  /**
   * Checks a second factor of `userId` under the second-factor lockout (sign-in and step-up alike):
   * 429 while locked; each failure audited; the failure that locks mails the user a security notice.
   */
  check(
    userId: string,
    proof: SecondFactorProof & { mfaChallengeId?: string; purpose: "second_factor" | "reauthentication" },
    request: RequestContext,
  ): Promise<boolean>;
}

export function createChallenges(
  context: AuthContext,
  parts: { factors: Factors; passkeys: Passkeys; throttle: SignInThrottle; completion: SignInCompletion },
): Challenges {
  const { db, clock, audit } = context;
  const { throttle } = parts;

  const invalidToken = () =>
    new PlatformError("invalid_token", { detail: "The MFA token is not valid, was used, or has expired." });

  async function live(mfaToken: string) {
    const hash = secretHash(mfaToken);
    const challenge =
      hash === undefined ? undefined : await challenges.find(db, clock.now(), eq(mfaChallenges.tokenHash, hash));
    if (challenge === undefined) throw invalidToken();
    return challenge;
  }

  async function passes(
    userId: string,
    proof: SecondFactorProof & { mfaChallengeId?: string; purpose: "second_factor" | "reauthentication" },
    request: RequestContext,
  ): Promise<boolean> {
    if (proof.method === "totp") return parts.factors.verifyTotp(db, userId)(proof.code ?? "");
    if (proof.method === "recovery_code") return parts.factors.useRecoveryCode(db, userId, proof.code ?? "", request);
    if (proof.assertion === undefined) return false;
    try {
      await parts.passkeys.verifyAssertion(
        {
          ...proof.assertion,
          purpose: proof.purpose,
          userId,
          ...(proof.mfaChallengeId ? { mfaChallengeId: proof.mfaChallengeId } : {}),
        },
        request,
      );
      return true;
    } catch (error) {
      if (error instanceof PlatformError) return false;
      throw error;
    }
  }

  async function check(
    userId: string,
    proof: Parameters<Challenges["check"]>[1],
    request: RequestContext,
  ): Promise<boolean> {
    const key = secondFactorKey(userId);
    // A slot is taken before the check, so parallel guesses cannot outrun the limit.
    const slot = await throttle.reserve(db, key);
    if (await passes(userId, proof, request)) {
      await throttle.recordSuccess(db, key);
      return true;
    }
    const locked = await throttle.recordFailure(db, key, slot);
    await db.transaction(async (tx) => {
      await audit.recordByUser(tx, userId, "mfa.factor_failed", request, {
        outcome: "failure",
        metadata: { method: proof.method, purpose: proof.purpose },
      });
      if (!locked) return;
      await audit.record(
        tx,
        {
          action: "mfa.locked",
          actor: { type: "system" },
          target: { type: "user", id: userId },
          metadata: { reason: "too_many_second_factor_failures" },
        },
        request,
      );
      const [user] = await tx.select({ email: users.email }).from(users).where(eq(users.id, userId));
      if (user !== undefined)
        await context.email.queue(tx, { to: user.email, template: "security.mfa_failures", variables: {} });
    });
    return false;
  }

  return {
    check,

    async find(mfaToken) {
      const challenge = await live(mfaToken);
      return { id: challenge.id, userId: challenge.userId };
    },

    async verify(input, request) {
      const challenge = await live(input.mfaToken);
      // Each try is counted before the factor is checked: the limit holds under parallel requests.
      if (!(await challenges.countAttempt(db, clock.now(), challenge.id))) throw invalidToken();
      if (
        !(await check(challenge.userId, { ...input, mfaChallengeId: challenge.id, purpose: "second_factor" }, request))
      )
        throw new PlatformError("invalid_code");
      const signedIn = await parts.completion.transaction(async (tx) => {
        const claimed = await challenges.redeem(tx, clock.now(), eq(mfaChallenges.id, challenge.id));
        if (claimed === undefined) return undefined;
        await audit.recordByUser(tx, challenge.userId, "mfa.factor_used", request, {
          metadata: { method: input.method },
        });
        return parts.completion.afterAllFactors(tx, challenge.userId, [challenge.firstMethod, input.method], request, {
          result: challenge.result,
        });
      });
      if (signedIn === undefined) throw invalidToken();
      return { ...signedIn, result: challenge.result, redirectTo: challenge.redirectTo, orgId: challenge.orgId };
    },
  };
}
