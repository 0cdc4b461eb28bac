import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { createTestMailServer } from "@burrow/platform-email/testing";
import {
  createTestApi,
  enrolTotp,
  post,
  readProblem,
  reauthenticate,
  signIn,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

describe("TOTP and sign-in with a second factor", () => {
  let api: TestApi;
  const mail = createTestMailServer();
  beforeAll(async () => {
    api = await createTestApi({}, { mail });
  });
  afterAll(() => api.close());

  /** The code an authenticator app would show now (an independent RFC 6238 implementation). */
  const codeNow = (secret: string, offsetSeconds = 0) =>
    referenceTotp(secret, Math.floor(api.clock.now().getTime() / 1000) + offsetSeconds);
  const nextStep = () => api.clock.advance(30_000);

  /** A user with a confirmed authenticator app. */
  async function enrolled(): Promise<TestUser & { secret: string; recoveryCodes: string[]; factorId: string }> {
    const user = await signUpUser(api);
    return { ...user, ...(await enrolTotp(api, user)) };
  }

  test("enrolment gives a secret, an otpauth URL and an SVG QR code; a correct code activates it and returns 10 recovery codes", async () => {
    const user = await signUpUser(api);
    const response = await post(api, "/v1/mfa/totp/enroll", { label: "Phone" }, user.bearer);
    expect(response.status).toBe(200);
    const enrolment = await response.json();
    expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrolment.otpauthUrl).toStartWith("otpauth://totp/");
    expect(enrolment.otpauthUrl).toContain(`secret=${enrolment.secret}`);
    expect(enrolment.qrSvg).toStartWith("<svg");
    // Not active yet: sign-in is not gated.
    expect((await (await signIn(api, user.email, user.password)).json()).sessionToken).toBeDefined();
    const wrong = await post(
      api,
      "/v1/mfa/totp/confirm",
      { factorId: enrolment.factorId, code: codeNow(enrolment.secret, 120) },
      user.bearer,
    );
    expect((await readProblem(wrong)).code).toBe("invalid_code");
    const confirmed = await (
      await post(
        api,
        "/v1/mfa/totp/confirm",
        { factorId: enrolment.factorId, code: codeNow(enrolment.secret) },
        user.bearer,
      )
    ).json();
    expect(confirmed.recoveryCodes.length).toBe(10);
    expect(new Set(confirmed.recoveryCodes).size).toBe(10);
    for (const code of confirmed.recoveryCodes)
      expect(code).toMatch(/^[2-9a-hj-km-np-z]{4}-[2-9a-hj-km-np-z]{4}-[2-9a-hj-km-np-z]{4}$/);
    expect(
      (
        await post(
          api,
          "/v1/mfa/totp/confirm",
          { factorId: enrolment.factorId, code: codeNow(enrolment.secret) },
          user.bearer,
        )
      ).status,
    ).toBe(409);
    await api.runJobs();
    expect(mail.lastTo(user.email)?.subject).toBe("Your Burrow sign-in methods changed");
  });

  test("password sign-in stops at mfaRequired; only a verified factor gives a session, recording both methods", async () => {
    const user = await enrolled();
    const first = await signIn(api, user.email, user.password);
    expect(first.status).toBe(200);
    expect(first.headers.getSetCookie()).toEqual([]);
    const challenge = await first.json();
    expect(challenge).toEqual({ mfaRequired: true, mfaToken: expect.any(String), methods: ["totp", "recovery_code"] });
    // The mfaToken is not a session.
    expect(
      (await api.request("/v1/auth/session", { headers: { authorization: `Bearer ${challenge.mfaToken}` } })).status,
    ).toBe(401);
    const wrong = await post(api, "/v1/auth/mfa/verify", {
      mfaToken: challenge.mfaToken,
      method: "totp",
      code: codeNow(user.secret, 300),
    });
    expect((await readProblem(wrong)).code).toBe("invalid_code");
    const right = await post(api, "/v1/auth/mfa/verify", {
      mfaToken: challenge.mfaToken,
      method: "totp",
      code: codeNow(user.secret),
    });
    expect(right.status).toBe(200);
    const body = await right.json();
    expect(body.session.authMethods).toEqual(["password", "totp"]);
    expect(right.headers.getSetCookie().join()).toContain("burrow_session=");
    // Used once.
    expect(
      (
        await readProblem(
          await post(api, "/v1/auth/mfa/verify", {
            mfaToken: challenge.mfaToken,
            method: "totp",
            code: codeNow(user.secret),
          }),
        )
      ).code,
    ).toBe("invalid_token");
  });

  test("a TOTP step is never accepted twice, and a stale code is refused", async () => {
    const user = await enrolled();
    const code = codeNow(user.secret);
    const one = (await (await signIn(api, user.email, user.password)).json()).mfaToken;
    expect((await post(api, "/v1/auth/mfa/verify", { mfaToken: one, method: "totp", code })).status).toBe(200);
    const two = (await (await signIn(api, user.email, user.password)).json()).mfaToken;
    expect(
      (await readProblem(await post(api, "/v1/auth/mfa/verify", { mfaToken: two, method: "totp", code }))).code,
    ).toBe("invalid_code");
    nextStep();
    nextStep();
    expect(
      (
        await readProblem(
          await post(api, "/v1/auth/mfa/verify", { mfaToken: two, method: "totp", code: codeNow(user.secret, -60) }),
        )
      ).code,
    ).toBe("invalid_code");
    // The previous step still works (a code typed as the step turned over).
    expect(
      (await post(api, "/v1/auth/mfa/verify", { mfaToken: two, method: "totp", code: codeNow(user.secret, -30) }))
        .status,
    ).toBe(200);
  });

  test("the mfaToken expires after 5 minutes and dies after 5 wrong codes", async () => {
    const user = await enrolled();
    const late = (await (await signIn(api, user.email, user.password)).json()).mfaToken;
    api.clock.advance(5 * 60_000);
    expect(
      (
        await readProblem(
          await post(api, "/v1/auth/mfa/verify", { mfaToken: late, method: "totp", code: codeNow(user.secret) }),
        )
      ).code,
    ).toBe("invalid_token");
    const tried = (await (await signIn(api, user.email, user.password)).json()).mfaToken;
    for (let attempt = 0; attempt < 5; attempt++)
      await post(api, "/v1/auth/mfa/verify", {
        mfaToken: tried,
        method: "totp",
        code: "000000" === codeNow(user.secret) ? "111111" : "000000",
      });
    expect(
      (
        await readProblem(
          await post(api, "/v1/auth/mfa/verify", { mfaToken: tried, method: "totp", code: codeNow(user.secret) }),
        )
      ).code,
    ).toBe("invalid_token");
    const failures = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "mfa.factor_failed"), eq(auditLogs.targetId, user.id)));
    expect(failures.length).toBe(5);
  });

  test("every way of signing in stops at mfaRequired", async () => {
    const user = await enrolled();
    const grant = await (
      await post(api, "/v1/auth/token", { grantType: "password", email: user.email, password: user.password })
    ).json();
    expect(grant.mfaRequired).toBe(true);
    expect(grant.accessToken).toBeUndefined();
    const tokens = await (
      await post(api, "/v1/auth/mfa/verify", { mfaToken: grant.mfaToken, method: "totp", code: codeNow(user.secret) })
    ).json();
    expect(tokens.tokenType).toBe("Bearer");
    expect(tokens.refreshToken).toBeDefined();

    await post(api, "/v1/auth/magic-link", { email: user.email });
    await api.runJobs();
    const magic = await (
      await post(api, "/v1/auth/magic-link/verify", {
        token: mail.linkTo(user.email, "/auth/magic-link").searchParams.get("token"),
      })
    ).json();
    expect(magic.mfaRequired).toBe(true);
    expect(magic.sessionToken).toBeUndefined();

    await post(api, "/v1/auth/otp/email", { email: user.email });
    await api.runJobs();
    const code = /\b(\d{6})\b/.exec(mail.lastTo(user.email)?.text ?? "")![1]!;
    const byCode = await (await post(api, "/v1/auth/otp/email/verify", { email: user.email, code })).json();
    expect(byCode.mfaRequired).toBe(true);
  });

  test("a recovery code works once in place of a factor, and the user is emailed", async () => {
    const user = await enrolled();
    const mfaToken = (await (await signIn(api, user.email, user.password)).json()).mfaToken;
    const used = await post(api, "/v1/auth/mfa/verify", {
      mfaToken,
      method: "recovery_code",
      code: user.recoveryCodes[0]!.toUpperCase(),
    });
    expect(used.status).toBe(200);
    expect((await used.json()).session.authMethods).toEqual(["password", "recovery_code"]);
    await api.runJobs();
    const notices = mail.received
      .filter((message) => (message.to as { text: string }).text === user.email)
      .map((message) => message.text ?? "");
    expect(notices.some((text) => text.includes("a recovery code was used"))).toBe(true);
    const again = (await (await signIn(api, user.email, user.password)).json()).mfaToken;
    expect(
      (
        await readProblem(
          await post(api, "/v1/auth/mfa/verify", {
            mfaToken: again,
            method: "recovery_code",
            code: user.recoveryCodes[0],
          }),
        )
      ).code,
    ).toBe("invalid_code");
    expect(
      (
        await post(api, "/v1/auth/mfa/verify", {
          mfaToken: again,
          method: "recovery_code",
          code: user.recoveryCodes[1],
        })
      ).status,
    ).toBe(200);
  });

  test("regenerating codes and removing a factor need a recent re-authentication, by password or TOTP", async () => {
    const user = await enrolled();
    api.clock.advance(11 * 60_000);
    const stale = await post(api, "/v1/mfa/recovery-codes", {}, user.bearer);
    expect((await readProblem(stale)).code).toBe("reauthentication_required");
    expect(
      (await api.request(`/v1/mfa/totp/${user.factorId}`, { method: "DELETE", headers: user.bearer })).status,
    ).toBe(403);
    expect((await post(api, "/v1/mfa/totp/enroll", {}, user.bearer)).status).toBe(403);
    expect(
      (await readProblem(await post(api, "/v1/auth/reauthenticate", { totp: codeNow(user.secret, 600) }, user.bearer)))
        .code,
    ).toBe("invalid_code");
    expect((await reauthenticate(api, user, { totp: codeNow(user.secret) })).status).toBe(200);
    const fresh = await (await post(api, "/v1/mfa/recovery-codes", {}, user.bearer)).json();
    expect(fresh.recoveryCodes.length).toBe(10);
    // The old set is gone.
    const mfaToken = (await (await signIn(api, user.email, user.password)).json()).mfaToken;
    expect(
      (await post(api, "/v1/auth/mfa/verify", { mfaToken, method: "recovery_code", code: user.recoveryCodes[2] }))
        .status,
    ).toBe(400);
    expect(
      (await api.request(`/v1/mfa/totp/${user.factorId}`, { method: "DELETE", headers: user.bearer })).status,
    ).toBe(204);
    expect((await (await signIn(api, user.email, user.password)).json()).sessionToken).toBeDefined();
  });

  test("a code for an unconfirmed factor proves nothing", async () => {
    const user = await signUpUser(api);
    const enrolment = await (await post(api, "/v1/mfa/totp/enroll", {}, user.bearer)).json();
    expect(
      (await readProblem(await post(api, "/v1/auth/reauthenticate", { totp: codeNow(enrolment.secret) }, user.bearer)))
        .code,
    ).toBe("invalid_code");
  });

  test("a password reset never disables MFA", async () => {
    const user = await enrolled();
    await post(api, "/v1/auth/password/forgot", { email: user.email });
    await api.runJobs();
    const token = mail.linkTo(user.email, "/auth/reset-password").searchParams.get("token");
    expect(
      (await post(api, "/v1/auth/password/reset", { token, newPassword: "a new passphrase after reset" })).status,
    ).toBe(204);
    expect((await (await signIn(api, user.email, "a new passphrase after reset")).json()).mfaRequired).toBe(true);
  });

  test("another user's factor, and malformed input, change nothing", async () => {
    const owner = await enrolled();
    const stranger = await signUpUser(api);
    expect(
      (await api.request(`/v1/mfa/totp/${owner.factorId}`, { method: "DELETE", headers: stranger.bearer })).status,
    ).toBe(404);
    expect(
      (
        await post(
          api,
          "/v1/mfa/totp/confirm",
          { factorId: owner.factorId, code: codeNow(owner.secret) },
          stranger.bearer,
        )
      ).status,
    ).toBe(404);
    expect(
      (await readProblem(await api.request("/v1/mfa/totp/nope", { method: "DELETE", headers: stranger.bearer }))).code,
    ).toBe("invalid_id");
    for (const body of [{}, { mfaToken: "x", method: "sms", code: "123456" }, { mfaToken: "x", method: "totp" }])
      expect((await post(api, "/v1/auth/mfa/verify", body)).status).toBe(400);
    expect((await (await signIn(api, owner.email, owner.password)).json()).mfaRequired).toBe(true);
  });
});

describe("MFA policy", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi({ BURROW_MFA_REQUIRED: "all" });
  });
  afterAll(() => api.close());

  const codeNow = (secret: string) => referenceTotp(secret, Math.floor(api.clock.now().getTime() / 1000));

  test("a user without a factor gets a session that can only enrol one; enrolment makes it full", async () => {
    const user = await signUpUser(api);
    const response = await signIn(api, user.email, user.password);
    const body = await response.json();
    expect(body.session.restricted).toBe(true);
    const restricted = { authorization: `Bearer ${body.sessionToken}` };
    // What it may do: see itself, sign out, enrol.
    expect((await api.request("/v1/auth/session", { headers: restricted })).status).toBe(200);
    // What it may not.
    for (const [method, path] of [
      ["GET", "/v1/me"],
      ["GET", "/v1/auth/sessions"],
      ["GET", "/v1/api-keys"],
      ["POST", "/v1/auth/sessions/revoke-others"],
    ] as const) {
      const refused = await api.request(path, { method, headers: restricted });
      expect(refused.status).toBe(403);
      expect((await readProblem(refused)).code).toBe("mfa_enrolment_required");
    }
    expect((await readProblem(await post(api, "/v1/auth/token", { grantType: "session" }, restricted))).code).toBe(
      "mfa_enrolment_required",
    );

    const enrolment = await (await post(api, "/v1/mfa/totp/enroll", {}, restricted)).json();
    const confirmed = await post(
      api,
      "/v1/mfa/totp/confirm",
      { factorId: enrolment.factorId, code: codeNow(enrolment.secret) },
      restricted,
    );
    expect(confirmed.status).toBe(200);
    // Lifting the restriction is an authentication: the session has a new token, and the old one is dead (ASVS V7.2.4).
    const { sessionToken } = await confirmed.json();
    expect(sessionToken).toStartWith(`${body.session.id}.`);
    expect((await api.request("/v1/auth/session", { headers: restricted })).status).toBe(401);
    restricted.authorization = `Bearer ${sessionToken}`;
    expect((await api.request("/v1/me", { headers: restricted })).status).toBe(200);
    const audit = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "mfa.policy_enrolled"), eq(auditLogs.targetId, user.id)));
    expect(audit.length).toBe(1);

    // From now on, signing in asks for the factor.
    api.clock.advance(30_000);
    expect((await (await signIn(api, user.email, user.password)).json()).mfaRequired).toBe(true);

    // And the last factor cannot be removed while policy requires one.
    const removal = await api.request(`/v1/mfa/totp/${enrolment.factorId}`, { method: "DELETE", headers: restricted });
    expect(removal.status).toBe(403);
    expect((await readProblem(removal)).code).toBe("mfa_required_by_policy");
    expect((await (await api.request("/v1/mfa/factors", { headers: restricted })).json()).data.length).toBe(1);
  });

  test("a sign-up under the policy gets a restricted session as well", async () => {
    const response = await post(api, "/v1/auth/sign-up", {
      email: "policy-new@example.com",
      password: "purple submarine garden",
    });
    expect((await response.json()).session.restricted).toBe(true);
  });

  test("the password grant does not hand tokens to a restricted session", async () => {
    const user = await signUpUser(api);
    const response = await post(api, "/v1/auth/token", {
      grantType: "password",
      email: user.email,
      password: user.password,
    });
    expect(response.status).toBe(403);
    expect((await readProblem(response)).code).toBe("mfa_enrolment_required");
  });
});
