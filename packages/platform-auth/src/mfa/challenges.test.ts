import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { newId, type DatabaseHandle, type UserId } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { emailMessages } from "@burrow/platform-email/schema";
import { createTestClock } from "@burrow/platform-core/testing";
import type { Auth } from "../index.ts";
import { signInThrottles, users } from "../schema.ts";
import { createTestAuth, referenceTotp, testConfig } from "../test-auth.ts";
import { createChallengeStore, MFA_MAX_ATTEMPTS, MFA_TOKEN_TTL_MS, secondFactorKey } from "./challenges.ts";

const config = testConfig({ BURROW_MFA_LOCKOUT: "10/15m" });
const PASSWORD = "purple submarine garden";
const STEP_MS = 30_000;

describe("MFA challenges", () => {
  let handle: DatabaseHandle;
  let auth: Auth;
  const clock = createTestClock();
  const challengeStore = createChallengeStore(clock);
  let counter = 0;

  beforeAll(async () => {
    ({ handle, auth } = await createTestAuth({ clock, env: { BURROW_MFA_LOCKOUT: "10/15m" } }));
  });
  afterAll(() => handle.close());

  const codeAt = (secret: string, ms: number) => referenceTotp(secret, Math.floor(ms / 1000));
  const codeNow = (secret: string) => codeAt(secret, clock.now().getTime());
  /** A code that is neither this step's nor the previous one's (both would be accepted). */
  const wrongCode = (secret: string) => {
    const now = clock.now().getTime();
    const right = new Set([codeAt(secret, now), codeAt(secret, now - STEP_MS)]);
    return ["000000", "111111", "222222"].find((code) => !right.has(code))!;
  };

  /** A user with a password and a confirmed authenticator app, past the step used to confirm it. */
  const userWithTotp = async () => {
    const userId = newId("user") as UserId;
    const address = `challenge-${++counter}@example.com`;
    await handle.db
      .insert(users)
      .values({ id: userId, email: address, emailNormalized: address, createdAt: clock.now(), updatedAt: clock.now() });
    await auth.setPassword(handle.db, { id: userId, email: address, name: null }, PASSWORD);
    const { session } = await auth.sessions.create(handle.db, { userId, methods: ["password"], request: {} });
    const { factorId, secret } = await auth.factors.enrollTotp(session, "phone", {});
    await auth.factors.confirmTotp(session, factorId, codeNow(secret), {});
    clock.advance(STEP_MS);
    return { userId, email: address, secret };
  };
  /** A challenge as a passed password leaves it (without spending an Argon2id verify). */
  const challengeFor = (userId: string) =>
    challengeStore(handle.db, { userId, firstMethod: "password", result: "session" });
  const signInWithPassword = async (email: string) => {
    const outcome = await auth.signIn({ email, password: PASSWORD }, {});
    if (outcome.kind !== "mfa_required") throw new Error("expected an MFA challenge");
    return outcome.mfaToken;
  };
  const invalidToken = { code: "invalid_token" };
  const countOf = async (action: string, userId: string) =>
    (
      await handle.db
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.action, action), eq(auditLogs.targetId, userId)))
    ).length;

  test("a password sign-in of a user with a second factor gets a challenge, never a session", async () => {
    const { email, secret, userId } = await userWithTotp();
    const outcome = await auth.signIn({ email, password: PASSWORD }, {});
    expect(outcome).toMatchObject({ kind: "mfa_required", methods: expect.arrayContaining(["totp"]) });
    if (outcome.kind !== "mfa_required") return;
    const signedIn = await auth.challenges.verify(
      { mfaToken: outcome.mfaToken, method: "totp", code: codeNow(secret) },
      {},
    );
    expect(signedIn.user.id).toBe(userId);
    expect(signedIn.session.authMethods).toEqual(["password", "totp"]);
    expect(signedIn.result).toBe("session");
    expect((await auth.sessions.validate(signedIn.token)).reason).toBeNull();
  });

  test("a challenge is single-use: once answered, its mfaToken is refused even with a new right code", async () => {
    const { userId, secret } = await userWithTotp();
    const mfaToken = await challengeFor(userId);
    await auth.challenges.verify({ mfaToken, method: "totp", code: codeNow(secret) }, {});
    clock.advance(STEP_MS);
    await expect(auth.challenges.verify({ mfaToken, method: "totp", code: codeNow(secret) }, {})).rejects.toMatchObject(
      invalidToken,
    );
    await expect(auth.challenges.find(mfaToken)).rejects.toMatchObject(invalidToken);
  });

  test("a challenge expires after MFA_TOKEN_TTL_MS (5 minutes)", async () => {
    const { userId, secret } = await userWithTotp();
    expect(MFA_TOKEN_TTL_MS).toBe(5 * 60_000);
    const mfaToken = await challengeFor(userId);
    clock.advance(MFA_TOKEN_TTL_MS - 1);
    expect((await auth.challenges.find(mfaToken)).userId).toBe(userId);
    clock.advance(1);
    await expect(auth.challenges.find(mfaToken)).rejects.toMatchObject(invalidToken);
    await expect(auth.challenges.verify({ mfaToken, method: "totp", code: codeNow(secret) }, {})).rejects.toMatchObject(
      invalidToken,
    );
  });

  test("a challenge dies after MFA_MAX_ATTEMPTS wrong codes; a right code after that is refused", async () => {
    const { userId, secret } = await userWithTotp();
    const mfaToken = await challengeFor(userId);
    for (let attempt = 0; attempt < MFA_MAX_ATTEMPTS; attempt++)
      await expect(
        auth.challenges.verify({ mfaToken, method: "totp", code: wrongCode(secret) }, {}),
      ).rejects.toMatchObject({ code: "invalid_code" });
    await expect(auth.challenges.verify({ mfaToken, method: "totp", code: codeNow(secret) }, {})).rejects.toMatchObject(
      invalidToken,
    );
    expect(await countOf("mfa.factor_failed", userId)).toBe(MFA_MAX_ATTEMPTS);
  });

  test("a malformed or unknown mfaToken is refused", async () => {
    await expect(auth.challenges.find("short")).rejects.toMatchObject(invalidToken);
    await expect(auth.challenges.find("A".repeat(43))).rejects.toMatchObject(invalidToken);
  });

  test("second-factor failures lock the user at the configured count (mfa:<userId>), and a right password does not reset them", async () => {
    const { userId, email, secret } = await userWithTotp();
    const { count, windowMs } = config.mfaLockout;
    expect(count).toBe(10);
    let failures = 0;
    // Each challenge allows 5 tries; a right password between them starts a new one but keeps the count.
    while (failures < count - 1) {
      const mfaToken = await signInWithPassword(email);
      for (let attempt = 0; attempt < MFA_MAX_ATTEMPTS && failures < count - 1; attempt++, failures++)
        await expect(
          auth.challenges.verify({ mfaToken, method: "totp", code: wrongCode(secret) }, {}),
        ).rejects.toMatchObject({ code: "invalid_code" });
    }
    const key = secondFactorKey(userId);
    expect(key).toBe(`mfa:${userId}`);
    const [counted] = await handle.db.select().from(signInThrottles).where(eq(signInThrottles.key, key));
    expect(counted).toMatchObject({ failures: count - 1, lockedUntil: null });
    expect(await countOf("mfa.locked", userId)).toBe(0);

    // The count-th failure locks, is audited and mails the user.
    const last = await signInWithPassword(email);
    await expect(
      auth.challenges.verify({ mfaToken: last, method: "totp", code: wrongCode(secret) }, {}),
    ).rejects.toMatchObject({ code: "invalid_code" });
    expect(await countOf("mfa.locked", userId)).toBe(1);
    const mails = await handle.db
      .select()
      .from(emailMessages)
      .where(and(eq(emailMessages.to, email), eq(emailMessages.templateKey, "security.mfa_failures")));
    expect(mails.length).toBe(1);

    // Locked: a right code is refused with 429, on this challenge and on one after a right password.
    const locked = await auth.challenges
      .verify({ mfaToken: last, method: "totp", code: codeNow(secret) }, {})
      .catch((error: unknown) => error);
    expect(locked).toMatchObject({ code: "too_many_attempts", status: 429 });
    expect(Number((locked as { headers: Record<string, string> }).headers["Retry-After"])).toBe(windowMs / 1000);
    const afterPassword = await signInWithPassword(email);
    await expect(
      auth.challenges.verify({ mfaToken: afterPassword, method: "totp", code: codeNow(secret) }, {}),
    ).rejects.toMatchObject({ code: "too_many_attempts" });
    // Step-up meets the same lock.
    await expect(
      auth.challenges.check(userId, { method: "totp", code: codeNow(secret), purpose: "reauthentication" }, {}),
    ).rejects.toMatchObject({ code: "too_many_attempts" });

    // When the lock is over, a right code signs in and clears the counter.
    clock.advance(windowMs);
    const fresh = await signInWithPassword(email);
    const signedIn = await auth.challenges.verify({ mfaToken: fresh, method: "totp", code: codeNow(secret) }, {});
    expect(signedIn.user.id).toBe(userId);
    expect(await handle.db.select().from(signInThrottles).where(eq(signInThrottles.key, key))).toEqual([]);
  });

  test("a right second factor clears the second-factor counter", async () => {
    const { userId, secret } = await userWithTotp();
    const mfaToken = await challengeFor(userId);
    for (let attempt = 0; attempt < 3; attempt++)
      await expect(
        auth.challenges.verify({ mfaToken, method: "totp", code: wrongCode(secret) }, {}),
      ).rejects.toMatchObject({ code: "invalid_code" });
    const key = secondFactorKey(userId);
    expect((await handle.db.select().from(signInThrottles).where(eq(signInThrottles.key, key)))[0]?.failures).toBe(3);
    await auth.challenges.verify({ mfaToken, method: "totp", code: codeNow(secret) }, {});
    expect(await handle.db.select().from(signInThrottles).where(eq(signInThrottles.key, key))).toEqual([]);
  });
});
