// Regression tests for the security review (issue 10): each reproduces a defect over HTTP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, desc, eq } from "drizzle-orm";
import type { UserId } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { MAX_CODE_ATTEMPTS } from "@burrow/platform-auth";
import { authTokens } from "@burrow/platform-auth/schema";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { createTestMailServer } from "@burrow/platform-email/testing";
import { createTestApi, readProblem, signIn, signUpUser, type TestApi, type TestUser } from "./helpers.ts";

const post = (api: TestApi, path: string, json: unknown, headers: Record<string, string> = {}) => api.request(path, { method: "POST", json, headers });

describe("security review: second factors", () => {
  let api: TestApi;
  const mail = createTestMailServer();
  beforeAll(async () => {
    await mail.start();
    api = await createTestApi({ SMTP_URL: mail.url() });
  });
  afterAll(async () => {
    await api.close();
    await mail.stop();
  });

  const codeNow = (secret: string, offsetSeconds = 0) => referenceTotp(secret, Math.floor(api.clock.now().getTime() / 1000) + offsetSeconds);
  const wrongCode = (secret: string) => (codeNow(secret) === "000000" ? "111111" : "000000");

  async function enrolled(): Promise<TestUser & { secret: string; recoveryCodes: string[] }> {
    const user = await signUpUser(api);
    const enrolment = await (await post(api, "/v1/mfa/totp/enroll", {}, user.bearer)).json();
    const confirmed = await (await post(api, "/v1/mfa/totp/confirm", { factorId: enrolment.factorId, code: codeNow(enrolment.secret) }, user.bearer)).json();
    api.clock.advance(30_000);
    return { ...user, secret: enrolment.secret, recoveryCodes: confirmed.recoveryCodes };
  }

  const mfaToken = async (user: TestUser) => (await (await signIn(api, user.email, user.password)).json()).mfaToken as string;

  test("#3 second-factor failures have their own counter that a correct password does not reset: 10 wrong codes lock MFA, mail the user, and audit each", async () => {
    const user = await enrolled();
    // Five rounds of "right password, two wrong codes": the password's own counter is cleared each time.
    for (let round = 0; round < 5; round++) {
      const token = await mfaToken(user);
      for (let attempt = 0; attempt < 2; attempt++) expect((await readProblem(await post(api, "/v1/auth/mfa/verify", { mfaToken: token, method: "totp", code: wrongCode(user.secret) }))).code).toBe("invalid_code");
    }
    // Ten failures: the second factor is locked, even for the right code, while the password still works.
    const token = await mfaToken(user);
    expect(token).toBeString();
    const locked = await post(api, "/v1/auth/mfa/verify", { mfaToken: token, method: "totp", code: codeNow(user.secret) });
    expect((await readProblem(locked)).code).toBe("too_many_attempts");
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Recovery codes are second factors too.
    expect((await readProblem(await post(api, "/v1/auth/mfa/verify", { mfaToken: token, method: "recovery_code", code: user.recoveryCodes[0] }))).code).toBe("too_many_attempts");
    const failures = await api.platform.db.select().from(auditLogs).where(and(eq(auditLogs.action, "mfa.factor_failed"), eq(auditLogs.targetId, user.id)));
    expect(failures.length).toBe(10);
    expect((await api.platform.db.select().from(auditLogs).where(and(eq(auditLogs.action, "mfa.locked"), eq(auditLogs.targetId, user.id)))).length).toBe(1);
    await api.runJobs();
    expect(mail.lastTo(user.email)?.subject).toBe("Repeated failed sign-in codes on your Burrow account");
    // The lock ends by itself after 15 minutes, and the right code then signs in.
    api.clock.advance(15 * 60_000 + 1000);
    const later = await mfaToken(user);
    const signedIn = await post(api, "/v1/auth/mfa/verify", { mfaToken: later, method: "totp", code: codeNow(user.secret) });
    expect(signedIn.status).toBe(200);
  });

  test("#3 step-up by TOTP meets the same second-factor lockout", async () => {
    const user = await enrolled();
    for (let attempt = 0; attempt < 10; attempt++) expect((await readProblem(await post(api, "/v1/auth/reauthenticate", { totp: wrongCode(user.secret) }, user.bearer))).code).toBe("invalid_code");
    expect((await readProblem(await post(api, "/v1/auth/reauthenticate", { totp: codeNow(user.secret) }, user.bearer))).code).toBe("too_many_attempts");
    // The password path is not locked by second-factor failures.
    expect((await post(api, "/v1/auth/reauthenticate", { password: user.password }, user.bearer)).status).toBe(204);
  });

  test("#3 parallel wrong codes cannot outrun the second-factor limit (each takes a slot first)", async () => {
    const user = await enrolled();
    const tokens = await Promise.all(Array.from({ length: 4 }, () => mfaToken(user)));
    const answers = await Promise.all(tokens.flatMap((token) => Array.from({ length: 5 }, () => post(api, "/v1/auth/mfa/verify", { mfaToken: token, method: "totp", code: wrongCode(user.secret) }))));
    const codes = await Promise.all(answers.map(async (answer) => (await readProblem(answer)).code));
    // At most 10 codes are checked; the rest are refused unchecked.
    expect(codes.filter((code) => code === "invalid_code").length).toBeLessThanOrEqual(10);
    const failures = await api.platform.db.select().from(auditLogs).where(and(eq(auditLogs.action, "mfa.factor_failed"), eq(auditLogs.targetId, user.id)));
    expect(failures.length).toBeLessThanOrEqual(10);
  });

  test("#16 the recovery-code audit entry carries the request's context", async () => {
    const user = await enrolled();
    const token = await mfaToken(user);
    expect((await post(api, "/v1/auth/mfa/verify", { mfaToken: token, method: "recovery_code", code: user.recoveryCodes[1] }, { "user-agent": "review-agent/1.0" })).status).toBe(200);
    const [entry] = await api.platform.db.select().from(auditLogs).where(and(eq(auditLogs.action, "mfa.recovery_code_used"), eq(auditLogs.targetId, user.id)));
    expect(entry?.userAgent).toBe("review-agent/1.0");
    expect(entry?.requestId).toBeString();
  });

  test("#16 a password grant for an organization keeps the organization across the MFA step", async () => {
    const user = await enrolled();
    const org = await (await post(api, "/v1/orgs", { name: "Review Org" }, { authorization: `Bearer ${user.token}` })).json();
    const grant = await (await post(api, "/v1/auth/token", { grantType: "password", email: user.email, password: user.password, orgId: org.id })).json();
    expect(grant.mfaRequired).toBe(true);
    const tokens = await (await post(api, "/v1/auth/mfa/verify", { mfaToken: grant.mfaToken, method: "totp", code: codeNow(user.secret) })).json();
    const claims = JSON.parse(Buffer.from(tokens.accessToken.split(".")[1], "base64url").toString());
    expect(claims.org_id).toBe(org.id);
    expect(claims.org_role).toBe("owner");
  });
});

describe("security review: races", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  test("#9a one-time codes: 40 parallel wrong guesses are counted exactly to the limit, 20 rounds (races on PostgreSQL)", async () => {
    const user = await signUpUser(api);
    const { tokens } = api.platform.auth;
    for (let round = 0; round < 20; round++) {
      const code = await api.platform.db.transaction((tx) => tokens.issueCode(tx, { userId: user.id as UserId, purpose: "phone_verify", ttlMs: 600_000, target: "+14155550123" }));
      const wrong = code === "000000" ? "111111" : "000000";
      const guesses = await Promise.all(Array.from({ length: 40 }, () => api.platform.db.transaction((tx) => tokens.consumeCode(tx, { userId: user.id as UserId, purpose: "phone_verify", code: wrong, target: "+14155550123" }))));
      expect(guesses.every((guess) => guess === undefined)).toBe(true);
      const [row] = await api.platform.db.select().from(authTokens).where(and(eq(authTokens.userId, user.id), eq(authTokens.purpose, "phone_verify"))).orderBy(desc(authTokens.createdAt)).limit(1);
      expect(row!.attempts).toBe(MAX_CODE_ATTEMPTS);
      expect(row!.revokedAt).not.toBeNull();
      // Dead: even the right code is refused now.
      expect(await api.platform.db.transaction((tx) => tokens.consumeCode(tx, { userId: user.id as UserId, purpose: "phone_verify", code, target: "+14155550123" }))).toBeUndefined();
    }
  });
});
