import { and, eq, isNotNull } from "drizzle-orm";
import type * as WebAuthn from "@simplewebauthn/server";
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import {
  isUniqueViolation,
  newId,
  PlatformError,
  singleUse,
  type Database,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import { mfaFactors, users, webauthnChallenges } from "../schema.ts";
import type { SessionRow, Sessions } from "../sessions/sessions.ts";
import type { Factors, FactorRow } from "./factors.ts";
import { lockUser } from "../users/users.ts";

const alreadyRegistered = () =>
  new PlatformError("passkey_already_registered", { detail: "This passkey is already registered." });

// @simplewebauthn/server and its CBOR and ASN.1 parsers (about 20 MB resident) load with the first ceremony, not at start-up.
const webauthn = () => import("@simplewebauthn/server");
const generateRegistrationOptions: typeof WebAuthn.generateRegistrationOptions = async (options) =>
  (await webauthn()).generateRegistrationOptions(options);
const verifyRegistrationResponse: typeof WebAuthn.verifyRegistrationResponse = async (options) =>
  (await webauthn()).verifyRegistrationResponse(options);
const generateAuthenticationOptions: typeof WebAuthn.generateAuthenticationOptions = async (options) =>
  (await webauthn()).generateAuthenticationOptions(options);
const verifyAuthenticationResponse: typeof WebAuthn.verifyAuthenticationResponse = async (options) =>
  (await webauthn()).verifyAuthenticationResponse(options);

/** A ceremony's challenge is good for 5 minutes, once. */
export const WEBAUTHN_CHALLENGE_TTL_MS = 5 * 60_000;

// The challenge itself is public (the browser signs it); the ceremony's id is what is redeemed once.
const ceremonies = singleUse(webauthnChallenges, {
  id: webauthnChallenges.id,
  expiresAt: webauthnChallenges.expiresAt,
  usedAt: webauthnChallenges.consumedAt,
});

type Purpose = "registration" | "sign_in" | "second_factor" | "reauthentication";

export const ceremonySweeper = ceremonies.sweeper("auth.webauthn_challenges", 86_400_000);

export interface Passkeys {
  /** Adding a passkey needs a recent authentication on the caller's session (step-up). */
  registrationOptions(
    session: SessionRow,
  ): Promise<{ ceremonyId: string; options: PublicKeyCredentialCreationOptionsJSON }>;
  /** Stores the new passkey (a confirmed factor); recovery codes come back when it is the first factor. */
  register(
    session: SessionRow,
    input: { ceremonyId: string; response: RegistrationResponseJSON; label?: string },
    request: RequestContext,
  ): Promise<{ factor: FactorRow; recoveryCodes: string[] | null; sessionToken: string | null }>;
  /** Options for signing in with a passkey alone: they name no account, so they reveal none. */
  signInOptions(): Promise<{ ceremonyId: string; options: PublicKeyCredentialRequestOptionsJSON }>;
  /** Options for a passkey as the second factor of an MFA challenge, or to re-authenticate. */
  optionsForUser(
    userId: string,
    purpose: "second_factor" | "reauthentication",
    mfaChallengeId?: string,
  ): Promise<{ ceremonyId: string; options: PublicKeyCredentialRequestOptionsJSON }>;
  /**
   * Verifies an assertion for a ceremony. For `sign_in` any user's passkey may answer; otherwise it
   * must belong to `userId`. Returns the user whose passkey it is.
   *
   * It runs in no caller's transaction, on purpose: the ceremony is used up and a refusal is
   * audited even when what follows fails, so a refused ceremony can never be retried.
   */
  verifyAssertion(
    input: {
      ceremonyId: string;
      response: AuthenticationResponseJSON;
      purpose: Purpose;
      userId?: string;
      mfaChallengeId?: string;
    },
    request?: RequestContext,
  ): Promise<string>;
  rename(userId: UserId, factorId: string, label: string): Promise<FactorRow>;
}

export function createPasskeys(context: AuthContext, parts: { factors: Factors; sessions: Sessions }): Passkeys {
  const { db, clock, audit, config } = context;
  const { rpId, rpName, origins } = config.webauthn;

  async function ceremony(
    purpose: Purpose,
    challenge: string,
    bound: { userId?: string; mfaChallengeId?: string } = {},
  ): Promise<string> {
    const now = clock.now();
    const id = newId("webauthnChallenge", now.getTime());
    await db.insert(webauthnChallenges).values({
      id,
      challenge,
      purpose,
      userId: bound.userId ?? null,
      mfaChallengeId: bound.mfaChallengeId ?? null,
      expiresAt: new Date(now.getTime() + WEBAUTHN_CHALLENGE_TTL_MS),
      createdAt: now,
    });
    return id;
  }

  /** Takes the ceremony's challenge once; a replay, another ceremony's id or an old one gets nothing. */
  async function consume(
    tx: Database,
    id: string,
    purpose: Purpose,
    bound: { userId?: string; mfaChallengeId?: string },
  ): Promise<string> {
    const conditions = [eq(webauthnChallenges.id, id), eq(webauthnChallenges.purpose, purpose)];
    if (bound.userId !== undefined) conditions.push(eq(webauthnChallenges.userId, bound.userId));
    if (bound.mfaChallengeId !== undefined)
      conditions.push(eq(webauthnChallenges.mfaChallengeId, bound.mfaChallengeId));
    const row = await ceremonies.redeem(tx, clock.now(), and(...conditions)!);
    if (row === undefined)
      throw new PlatformError("invalid_token", {
        detail: "The passkey challenge is not valid, was used, or has expired.",
      });
    return row.challenge;
  }

  const passkeysOf = (tx: Database, userId: string) =>
    tx
      .select()
      .from(mfaFactors)
      .where(and(eq(mfaFactors.userId, userId), eq(mfaFactors.type, "passkey"), isNotNull(mfaFactors.confirmedAt)));
  const refused = (detail: string) => new PlatformError("invalid_credentials", { detail });

  return {
    async registrationOptions(session) {
      parts.sessions.assertRecent(session);
      const userId = session.userId as UserId;
      const [user] = await db.select().from(users).where(eq(users.id, userId));
      if (user === undefined) throw new PlatformError("unauthenticated");
      const existing = await passkeysOf(db, userId);
      const options = await generateRegistrationOptions({
        rpName,
        rpID: rpId,
        userName: user.email,
        userDisplayName: user.name ?? user.email,
        userID: new TextEncoder().encode(user.id),
        attestationType: "none",
        excludeCredentials: existing.map((factor) => ({
          id: factor.credentialId!,
          transports: factor.transports ?? [],
        })),
        // A discoverable credential with user verification: usable alone, without a username.
        authenticatorSelection: { residentKey: "required", userVerification: "required" },
        timeout: WEBAUTHN_CHALLENGE_TTL_MS,
      });
      return { ceremonyId: await ceremony("registration", options.challenge, { userId }), options };
    },

    async register(session, input, request) {
      parts.sessions.assertRecent(session);
      const userId = session.userId as UserId;
      return db.transaction(async (tx) => {
        const expectedChallenge = await consume(tx, input.ceremonyId, "registration", { userId });
        let verification;
        try {
          verification = await verifyRegistrationResponse({
            response: input.response,
            expectedChallenge,
            expectedOrigin: origins,
            expectedRPID: rpId,
            requireUserVerification: true,
          });
        } catch (error) {
          throw refused(
            `The passkey could not be verified: ${error instanceof Error ? error.message : "invalid response"}`,
          );
        }
        if (!verification.verified) throw refused("The passkey could not be verified.");
        const { credential, credentialBackedUp, aaguid } = verification.registrationInfo;
        const [taken] = await tx
          .select({ id: mfaFactors.id })
          .from(mfaFactors)
          .where(eq(mfaFactors.credentialId, credential.id));
        if (taken !== undefined) throw alreadyRegistered();
        const now = clock.now();
        // Decided under the user's lock, so that of factors added at once only one is the first.
        await lockUser(tx, userId);
        const first =
          (
            await tx
              .select({ id: mfaFactors.id })
              .from(mfaFactors)
              .where(and(eq(mfaFactors.userId, userId), isNotNull(mfaFactors.confirmedAt)))
          ).length === 0;
        const [factor] = await tx
          .insert(mfaFactors)
          .values({
            id: newId("factor", now.getTime()),
            userId,
            type: "passkey",
            label: input.label ?? "Passkey",
            createdAt: now,
            confirmedAt: now,
            credentialId: credential.id,
            publicKey: Buffer.from(credential.publicKey).toString("base64url"),
            signCount: credential.counter,
            transports: credential.transports ?? [],
            backedUp: credentialBackedUp,
            aaguid,
          })
          .returning()
          .catch((error: unknown) => {
            // Registered by another ceremony at the same moment: the credential's unique index is the
            // check that holds when both passed the one above.
            throw isUniqueViolation(error) ? alreadyRegistered() : error;
          });
        const added = await parts.factors.factorAdded(tx, userId, "a passkey was added", factor!.id, request, {
          first,
          sessionId: session.id,
        });
        return { factor: factor!, ...added };
      });
    },

    async signInOptions() {
      const options = await generateAuthenticationOptions({
        rpID: rpId,
        userVerification: "required",
        allowCredentials: [],
        timeout: WEBAUTHN_CHALLENGE_TTL_MS,
      });
      return { ceremonyId: await ceremony("sign_in", options.challenge), options };
    },

    async optionsForUser(userId, purpose, mfaChallengeId) {
      const existing = await passkeysOf(db, userId);
      if (existing.length === 0) throw new PlatformError("no_passkey", { detail: "No passkey is registered." });
      const options = await generateAuthenticationOptions({
        rpID: rpId,
        userVerification: "required",
        allowCredentials: existing.map((factor) => ({ id: factor.credentialId!, transports: factor.transports ?? [] })),
        timeout: WEBAUTHN_CHALLENGE_TTL_MS,
      });
      return {
        ceremonyId: await ceremony(purpose, options.challenge, {
          userId,
          ...(mfaChallengeId ? { mfaChallengeId } : {}),
        }),
        options,
      };
    },

    async verifyAssertion(input, request = {}) {
      const tx = db;
      const bound = {
        ...(input.userId ? { userId: input.userId } : {}),
        ...(input.mfaChallengeId ? { mfaChallengeId: input.mfaChallengeId } : {}),
      };
      const expectedChallenge = await consume(tx, input.ceremonyId, input.purpose, bound);
      const credentialId = typeof input.response?.id === "string" ? input.response.id : "";
      const [factor] = await tx
        .select()
        .from(mfaFactors)
        .where(
          and(
            eq(mfaFactors.credentialId, credentialId),
            eq(mfaFactors.type, "passkey"),
            isNotNull(mfaFactors.confirmedAt),
          ),
        );
      // Unknown, or another user's passkey where this user's was asked for: one answer for both.
      if (factor === undefined || (input.userId !== undefined && factor.userId !== input.userId))
        throw refused("The passkey is not recognised.");
      let verification;
      try {
        verification = await verifyAuthenticationResponse({
          response: input.response,
          expectedChallenge,
          expectedOrigin: origins,
          expectedRPID: rpId,
          requireUserVerification: true,
          credential: {
            id: factor.credentialId!,
            publicKey: Buffer.from(factor.publicKey!, "base64url"),
            counter: factor.signCount ?? 0,
            transports: factor.transports ?? [],
          },
        });
      } catch (error) {
        await audit.record(
          tx,
          {
            action: "mfa.factor_failed",
            actor: { type: "user", id: factor.userId },
            target: { type: "mfa_factor", id: factor.id },
            outcome: "failure",
            metadata: { type: "passkey", purpose: input.purpose },
          },
          request,
        );
        throw refused(`The passkey response was refused: ${error instanceof Error ? error.message : "invalid"}`);
      }
      const { newCounter } = verification.authenticationInfo;
      // A counter that does not move forward means a cloned authenticator (0 = the authenticator keeps none).
      if (!verification.verified || ((factor.signCount ?? 0) > 0 && newCounter <= (factor.signCount ?? 0))) {
        await audit.record(
          tx,
          {
            action: "mfa.factor_failed",
            actor: { type: "user", id: factor.userId },
            target: { type: "mfa_factor", id: factor.id },
            outcome: "failure",
            metadata: { type: "passkey", purpose: input.purpose, reason: "counter" },
          },
          request,
        );
        throw refused("The passkey response was refused.");
      }
      await tx
        .update(mfaFactors)
        .set({ signCount: newCounter, lastUsedAt: clock.now() })
        .where(eq(mfaFactors.id, factor.id));
      return factor.userId;
    },

    async rename(userId, factorId, label) {
      const [row] = await db
        .update(mfaFactors)
        .set({ label })
        .where(and(eq(mfaFactors.id, factorId), eq(mfaFactors.userId, userId), eq(mfaFactors.type, "passkey")))
        .returning();
      if (row === undefined) throw new PlatformError("not_found");
      return row;
    },
  };
}
