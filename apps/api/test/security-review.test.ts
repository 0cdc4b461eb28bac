// Regression tests for the security review (issue 10): each reproduces a defect over HTTP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, desc, eq, sql } from "drizzle-orm";
import type { UserId } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { effectiveScopes, MAX_CODE_ATTEMPTS } from "@burrow/platform-auth";
import { principalRoles } from "@burrow/platform-rbac/schema";
import { authTokens } from "@burrow/platform-auth/schema";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { createTestMailServer } from "@burrow/platform-email/testing";
import {
  appKeepingErrors,
  BEARER_CLIENT,
  createTestApi,
  enrolTotp,
  grantPlatformPermissions,
  ORIGIN,
  PASSWORD,
  post,
  readProblem,
  reauthenticate,
  sessionCookieFrom,
  signIn,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

describe("security review: second factors", () => {
  let api: TestApi;
  const mail = createTestMailServer();
  beforeAll(async () => {
    api = await createTestApi({}, { mail });
  });
  afterAll(() => api.close());

  const codeNow = (secret: string, offsetSeconds = 0) =>
    referenceTotp(secret, Math.floor(api.clock.now().getTime() / 1000) + offsetSeconds);
  const wrongCode = (secret: string) => (codeNow(secret) === "000000" ? "111111" : "000000");

  async function enrolled(): Promise<TestUser & { secret: string; recoveryCodes: string[]; factorId: string }> {
    const user = await signUpUser(api);
    return { ...user, ...(await enrolTotp(api, user)) };
  }

  const mfaToken = async (user: TestUser) =>
    (await (await signIn(api, user.email, user.password)).json()).mfaToken as string;

  test("#3 second-factor failures have their own counter that a correct password does not reset: 10 wrong codes lock MFA, mail the user, and audit each", async () => {
    const user = await enrolled();
    // Five rounds of "right password, two wrong codes": the password's own counter is cleared each time.
    for (let round = 0; round < 5; round++) {
      const token = await mfaToken(user);
      for (let attempt = 0; attempt < 2; attempt++)
        expect(
          (
            await readProblem(
              await post(api, "/v1/auth/mfa/verify", { mfaToken: token, method: "totp", code: wrongCode(user.secret) }),
            )
          ).code,
        ).toBe("invalid_code");
    }
    // Ten failures: the second factor is locked, even for the right code, while the password still works.
    const token = await mfaToken(user);
    expect(token).toBeString();
    const locked = await post(api, "/v1/auth/mfa/verify", {
      mfaToken: token,
      method: "totp",
      code: codeNow(user.secret),
    });
    expect((await readProblem(locked)).code).toBe("too_many_attempts");
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    // Recovery codes are second factors too.
    expect(
      (
        await readProblem(
          await post(api, "/v1/auth/mfa/verify", {
            mfaToken: token,
            method: "recovery_code",
            code: user.recoveryCodes[0],
          }),
        )
      ).code,
    ).toBe("too_many_attempts");
    const failures = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "mfa.factor_failed"), eq(auditLogs.targetId, user.id)));
    expect(failures.length).toBe(10);
    expect(
      (
        await api.platform.db
          .select()
          .from(auditLogs)
          .where(and(eq(auditLogs.action, "mfa.locked"), eq(auditLogs.targetId, user.id)))
      ).length,
    ).toBe(1);
    await api.runJobs();
    // Mails sent in one batch arrive in any order: look for the notice among all of them.
    expect(
      mail.received
        .filter((message) => (message.to as { text?: string } | undefined)?.text === user.email)
        .map((message) => message.subject),
    ).toContain("Repeated failed sign-in codes on your Burrow account");
    // The lock ends by itself after 15 minutes, and the right code then signs in.
    api.clock.advance(15 * 60_000 + 1000);
    const later = await mfaToken(user);
    const signedIn = await post(api, "/v1/auth/mfa/verify", {
      mfaToken: later,
      method: "totp",
      code: codeNow(user.secret),
    });
    expect(signedIn.status).toBe(200);
  });

  test("#3 step-up by TOTP meets the same second-factor lockout", async () => {
    const user = await enrolled();
    for (let attempt = 0; attempt < 10; attempt++)
      expect(
        (await readProblem(await post(api, "/v1/auth/reauthenticate", { totp: wrongCode(user.secret) }, user.bearer)))
          .code,
      ).toBe("invalid_code");
    expect(
      (await readProblem(await post(api, "/v1/auth/reauthenticate", { totp: codeNow(user.secret) }, user.bearer))).code,
    ).toBe("too_many_attempts");
    // The password path is not locked by second-factor failures.
    expect((await post(api, "/v1/auth/reauthenticate", { password: user.password }, user.bearer)).status).toBe(200);
  });

  test("#3 parallel wrong codes cannot outrun the second-factor limit (each takes a slot first)", async () => {
    const user = await enrolled();
    const tokens = await Promise.all(Array.from({ length: 4 }, () => mfaToken(user)));
    const answers = await Promise.all(
      tokens.flatMap((token) =>
        Array.from({ length: 5 }, () =>
          post(api, "/v1/auth/mfa/verify", { mfaToken: token, method: "totp", code: wrongCode(user.secret) }),
        ),
      ),
    );
    const codes = await Promise.all(answers.map(async (answer) => (await readProblem(answer)).code));
    // At most 10 codes are checked; the rest are refused unchecked.
    expect(codes.filter((code) => code === "invalid_code").length).toBeLessThanOrEqual(10);
    const failures = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "mfa.factor_failed"), eq(auditLogs.targetId, user.id)));
    expect(failures.length).toBeLessThanOrEqual(10);
  });

  test("#16 the recovery-code audit entry carries the request's context", async () => {
    const user = await enrolled();
    const token = await mfaToken(user);
    expect(
      (
        await post(
          api,
          "/v1/auth/mfa/verify",
          { mfaToken: token, method: "recovery_code", code: user.recoveryCodes[1] },
          { "user-agent": "review-agent/1.0" },
        )
      ).status,
    ).toBe(200);
    const [entry] = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "mfa.recovery_code_used"), eq(auditLogs.targetId, user.id)));
    expect(entry?.userAgent).toBe("review-agent/1.0");
    expect(entry?.requestId).toBeString();
  });

  test("#16 a password grant for an organization keeps the organization across the MFA step", async () => {
    const user = await enrolled();
    const org = await (
      await post(api, "/v1/orgs", { name: "Review Org" }, { authorization: `Bearer ${user.token}` })
    ).json();
    const grant = await (
      await post(api, "/v1/auth/token", {
        grantType: "password",
        email: user.email,
        password: user.password,
        orgId: org.id,
      })
    ).json();
    expect(grant.mfaRequired).toBe(true);
    const tokens = await (
      await post(api, "/v1/auth/mfa/verify", { mfaToken: grant.mfaToken, method: "totp", code: codeNow(user.secret) })
    ).json();
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
      const code = await api.platform.db.transaction((tx) =>
        tokens.issueCode(tx, {
          userId: user.id as UserId,
          purpose: "phone_verify",
          ttlMs: 600_000,
          target: "+14155550123",
        }),
      );
      const wrong = code === "000000" ? "111111" : "000000";
      const guesses = await Promise.all(
        Array.from({ length: 40 }, () =>
          api.platform.db.transaction((tx) =>
            tokens.consumeCode(tx, {
              userId: user.id as UserId,
              purpose: "phone_verify",
              code: wrong,
              target: "+14155550123",
            }),
          ),
        ),
      );
      expect(guesses.every((guess) => guess === undefined)).toBe(true);
      const [row] = await api.platform.db
        .select()
        .from(authTokens)
        .where(and(eq(authTokens.userId, user.id), eq(authTokens.purpose, "phone_verify")))
        .orderBy(desc(authTokens.createdAt))
        .limit(1);
      expect(row!.attempts).toBe(MAX_CODE_ATTEMPTS);
      expect(row!.revokedAt).not.toBeNull();
      // Dead: even the right code is refused now.
      expect(
        await api.platform.db.transaction((tx) =>
          tokens.consumeCode(tx, { userId: user.id as UserId, purpose: "phone_verify", code, target: "+14155550123" }),
        ),
      ).toBeUndefined();
    }
  });
});

describe("security review: addresses and links", () => {
  let api: TestApi;
  let open: TestApi;
  const mail = createTestMailServer();
  beforeAll(async () => {
    // One mail server for two apps: started and stopped here, not by either app.
    await mail.start();
    api = await createTestApi({ SMTP_URL: mail.url(), BURROW_EMAIL_VERIFICATION: "required" });
    // Verification off: a sign-up is signed in at once (the builder's choice), unproven.
    open = await createTestApi({ SMTP_URL: mail.url(), BURROW_EMAIL_VERIFICATION: "off" });
  });
  afterAll(async () => {
    await api.close();
    await open.close();
    await mail.stop();
  });

  const tokenIn = (to: string, path: string) => mail.linkTo(to, path).searchParams.get("token")!;

  test("#5 pre-registration takeover: the owner's confirmation of the address removes the impostor's password", async () => {
    const victim = `victim-${crypto.randomUUID().slice(0, 8)}@example.com`;
    expect((await post(api, "/v1/auth/sign-up", { email: victim, password: "impostor chose this one" })).status).toBe(
      202,
    );
    await api.runJobs();
    // The owner clicks the link without knowing any password.
    const confirmed = await post(api, "/v1/auth/email/verify", { token: tokenIn(victim, "/auth/verify-email") });
    expect(confirmed.status).toBe(200);
    expect((await confirmed.json()).user.emailVerified).toBe(true);
    expect((await readProblem(await signIn(api, victim, "impostor chose this one"))).code).toBe("invalid_credentials");
    await api.runJobs();
    expect(mail.lastTo(victim)?.subject).toBe("Your Burrow account is confirmed: choose a password");
    // The mailed link lets the owner choose a password of their own.
    expect(
      (
        await post(api, "/v1/auth/password/reset", {
          token: tokenIn(victim, "/auth/reset-password"),
          newPassword: "the owner's own passphrase",
        })
      ).status,
    ).toBe(204);
    expect((await signIn(api, victim, "the owner's own passphrase")).status).toBe(200);
  });

  test("#5 whoever set the password keeps it by giving it with the link; a wrong one changes nothing", async () => {
    const email = `keeper-${crypto.randomUUID().slice(0, 8)}@example.com`;
    await post(api, "/v1/auth/sign-up", { email, password: PASSWORD });
    await api.runJobs();
    const token = tokenIn(email, "/auth/verify-email");
    const wrong = await post(api, "/v1/auth/email/verify", { token, password: "not the password at all" });
    expect((await readProblem(wrong)).code).toBe("invalid_credentials");
    // Nothing changed: still unverified, and the same link still works.
    expect((await api.platform.auth.users.findByEmail(api.platform.db, email))?.emailVerifiedAt).toBeNull();
    expect((await post(api, "/v1/auth/email/verify", { token, password: PASSWORD })).status).toBe(200);
    expect((await signIn(api, email, PASSWORD)).status).toBe(200);
  });

  test("#5 with verification off, a magic link proves the address and ends the impostor's password, sessions and API keys", async () => {
    const victim = `victim-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const impostor = await signUpUser(open, { email: victim, password: "impostor chose this one" });
    const key = await (
      await post(open, "/v1/api-keys", { name: "backdoor", scopes: ["profile:read"] }, impostor.bearer)
    ).json();
    expect(key.secret).toStartWith("bk_");
    await post(open, "/v1/auth/magic-link", { email: victim });
    await open.runJobs();
    const signedIn = await post(
      open,
      "/v1/auth/magic-link/verify",
      { token: tokenIn(victim, "/auth/magic-link") },
      { "x-burrow-client": "bearer" },
    );
    expect(signedIn.status).toBe(200);
    expect((await open.request("/v1/auth/session", { headers: impostor.bearer })).status).toBe(401);
    expect((await open.request("/v1/me", { headers: { authorization: `Bearer ${key.secret}` } })).status).toBe(401);
    expect((await readProblem(await signIn(open, victim, "impostor chose this one"))).code).toBe("invalid_credentials");
    const claimed = await open.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "user.address_claimed"), eq(auditLogs.targetId, impostor.id)));
    expect(claimed.length).toBe(1);
  });

  test("#11 changing the address ends the reset and magic links mailed to the old one", async () => {
    const user = await signUpUser(open, { email: `mover-${crypto.randomUUID().slice(0, 8)}@example.com` });
    await post(open, "/v1/auth/password/forgot", { email: user.email });
    await post(open, "/v1/auth/magic-link", { email: user.email });
    await open.runJobs();
    const reset = tokenIn(user.email, "/auth/reset-password");
    const magic = tokenIn(user.email, "/auth/magic-link");
    const newEmail = `moved-${crypto.randomUUID().slice(0, 8)}@example.com`;
    expect((await post(open, "/v1/auth/email/change", { newEmail }, user.bearer)).status).toBe(202);
    await open.runJobs();
    expect(
      (await post(open, "/v1/auth/email/change/confirm", { token: tokenIn(newEmail, "/auth/confirm-email-change") }))
        .status,
    ).toBe(200);
    expect(
      (
        await readProblem(
          await post(open, "/v1/auth/password/reset", { token: reset, newPassword: "attacker's new passphrase" }),
        )
      ).code,
    ).toBe("invalid_link");
    expect((await readProblem(await post(open, "/v1/auth/magic-link/verify", { token: magic }))).code).toBe(
      "invalid_link",
    );
  });

  test("#16 email-change requests are rate limited (they mail an address the caller chooses)", async () => {
    const user = await signUpUser(open);
    for (let attempt = 0; attempt < 3; attempt++)
      expect(
        (
          await post(
            open,
            "/v1/auth/email/change",
            { newEmail: `target${attempt}-${crypto.randomUUID().slice(0, 6)}@example.com` },
            user.bearer,
          )
        ).status,
      ).toBe(202);
    const limited = await post(
      open,
      "/v1/auth/email/change",
      { newEmail: `target-x-${crypto.randomUUID().slice(0, 6)}@example.com` },
      user.bearer,
    );
    expect((await readProblem(limited)).code).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("#10 a refresh does not revive a session past its idle timeout", async () => {
    const idle = await createTestApi({ BURROW_SESSION_IDLE: "6s", BURROW_REFRESH_IDLE: "1h" });
    try {
      const user = await signUpUser(idle);
      const tokens = await (
        await post(idle, "/v1/auth/token", { grantType: "password", email: user.email, password: user.password })
      ).json();
      idle.clock.advance(7_000);
      expect((await idle.request("/v1/auth/session", { headers: user.bearer })).status).toBe(401);
      const refreshed = await post(idle, "/v1/auth/token", {
        grantType: "refresh_token",
        refreshToken: tokens.refreshToken,
      });
      expect((await readProblem(refreshed)).code).toBe("invalid_token");
      // And it stays dead: the refresh did not touch its activity time.
      expect((await idle.request("/v1/auth/session", { headers: user.bearer })).status).toBe(401);
    } finally {
      await idle.close();
    }
  });
});

describe("security review: hostile text", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi({ BURROW_EMAIL_VERIFICATION: "required" });
  });
  afterAll(() => api.close());

  test("#7 a NUL byte is refused at the edge with the same 400 for a new and an existing address, and changes nothing", async () => {
    const existing = `nul-${crypto.randomUUID().slice(0, 8)}@example.com`;
    await post(api, "/v1/auth/sign-up", { email: existing, password: PASSWORD });
    const fresh = `fresh-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const answers = await Promise.all(
      [existing, fresh].map((email) =>
        post(api, "/v1/auth/sign-up", { email, password: PASSWORD, name: "Ada\u0000Lovelace" }),
      ),
    );
    const problems = await Promise.all(answers.map((answer) => readProblem(answer)));
    expect(answers.map((answer) => answer.status)).toEqual([400, 400]);
    expect(problems.map((problem) => [problem.code, problem.errors])).toEqual([
      ["validation_failed", [{ path: "name", message: expect.any(String) }]],
      ["validation_failed", [{ path: "name", message: expect.any(String) }]],
    ]);
    expect(await api.platform.auth.users.findByEmail(api.platform.db, fresh)).toBeUndefined();
  });

  test("#7 control characters in an organization name, profile metadata, an API-key name, a key or a query string are 400s", async () => {
    const open = await createTestApi();
    try {
      const user = await signUpUser(open);
      const cases: [string, string, unknown][] = [
        ["POST", "/v1/orgs", { name: "Acme\u0000" }],
        ["PATCH", "/v1/me", { metadata: { note: "a\u0007b" } }],
        ["PATCH", "/v1/me", { metadata: { "bad\u0000key": 1 } }],
        ["POST", "/v1/api-keys", { name: "key\u0000", scopes: ["profile:read"] }],
      ];
      for (const [method, path, json] of cases) {
        const answer = await open.request(path, { method, json, headers: user.bearer });
        expect(answer.status).toBe(400);
        expect((await readProblem(answer)).code).toBe("validation_failed");
      }
      const query = await open.request("/v1/me/permissions?orgId=org_%00", { headers: user.bearer });
      expect((await readProblem(query)).code).toBe("validation_failed");
      // Tabs and new lines are text: still accepted.
      expect(
        (
          await open.request("/v1/me", {
            method: "PATCH",
            json: { metadata: { note: "line one\nline two\ttabbed" } },
            headers: user.bearer,
          })
        ).status,
      ).toBe(200);
      expect(
        (await open.request("/v1/orgs", { headers: user.bearer }).then((response) => response.json())).data,
      ).toEqual([]);
    } finally {
      await open.close();
    }
  });

  test("#7 a failed query is logged without its parameters", async () => {
    const { app, errors: logged } = appKeepingErrors(api);
    app.post("/v1/test/query", async () => {
      // A real failing statement whose parameter is an address: the driver's error carries it.
      await api.platform.db.execute(sql`select ${"secret-address@example.com"}::int`);
      return new Response("unreachable");
    });
    const response = await app.request("/v1/test/query", { method: "POST" }, { remoteAddress: "192.0.2.1" });
    expect(response.status).toBe(500);
    expect(logged.length).toBe(1);
    expect(logged[0]).toContain("select $1::int");
    expect(logged[0]).not.toContain("secret-address@example.com");
  });
});

describe("security review: API keys", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  test("#12 a key's scopes are what its owner holds now: a permission taken away leaves every key made with it", async () => {
    const user = await signUpUser(api);
    await grantPlatformPermissions(api, user.id, ["users:read", "audit:read"]);
    const key = await (
      await post(
        api,
        "/v1/api-keys",
        { name: "ops", scopes: ["users:read", "audit:read", "profile:read"] },
        user.bearer,
      )
    ).json();
    const wide = await (
      await post(api, "/v1/api-keys", { name: "all of mine", scopes: ["users:*", "profile:*"] }, user.bearer)
    )
      .json()
      .catch(() => undefined);
    expect((await api.platform.auth.apiKeys.authenticate(key.secret, {}))?.key.scopes.sort()).toEqual([
      "audit:read",
      "profile:read",
      "users:read",
    ]);
    // The role is taken away (as when an elevation ends).
    await api.platform.db.delete(principalRoles).where(eq(principalRoles.userId, user.id));
    api.platform.rbac.resolver.evict(user.id);
    expect((await api.platform.auth.apiKeys.authenticate(key.secret, {}))?.key.scopes).toEqual(["profile:read"]);
    expect(
      wide?.secret === undefined ||
        (await api.platform.auth.apiKeys.authenticate(wide.secret, {}))?.key.scopes.includes("users:read") === false,
    ).toBe(true);
    // The stored scopes are unchanged: given the permission back, the key has it again.
    await grantPlatformPermissions(api, user.id, ["users:read"]);
    expect((await api.platform.auth.apiKeys.authenticate(key.secret, {}))?.key.scopes.sort()).toEqual([
      "profile:read",
      "users:read",
    ]);
  });

  test("#12 effectiveScopes narrows wide key scopes to the patterns still held", () => {
    expect(effectiveScopes(["*"], ["profile:read", "users:read"]).sort()).toEqual(["profile:read", "users:read"]);
    expect(effectiveScopes(["users:*"], ["users:read"])).toEqual(["users:read"]);
    expect(effectiveScopes(["users:read"], ["*"])).toEqual(["users:read"]);
    expect(effectiveScopes(["audit:read"], ["profile:read"])).toEqual([]);
  });
});

describe("security review: access tokens", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  test("#6 an access token is not the session: it cannot mint tokens, make keys, end sessions or change the account", async () => {
    const user = await signUpUser(api);
    const { accessToken } = await (
      await post(api, "/v1/auth/token", { grantType: "password", email: user.email, password: user.password })
    ).json();
    const jwt = { authorization: `Bearer ${accessToken}` };
    const refused: [string, string, unknown][] = [
      ["POST", "/v1/auth/token", { grantType: "session" }],
      ["POST", "/v1/api-keys", { name: "stolen", scopes: ["profile:read"] }],
      ["GET", "/v1/api-keys", undefined],
      ["POST", "/v1/auth/sessions/revoke-others", {}],
      ["GET", "/v1/auth/sessions", undefined],
      ["POST", "/v1/auth/password/change", { currentPassword: user.password, newPassword: "a brand new passphrase" }],
      ["POST", "/v1/mfa/totp/enroll", {}],
      ["POST", "/v1/auth/email/change", { newEmail: "elsewhere@example.com" }],
      ["POST", "/v1/auth/reauthenticate", { password: user.password }],
      ["DELETE", "/v1/me", undefined],
    ];
    for (const [method, path, json] of refused) {
      const answer = await api.request(path, { method, headers: jwt, ...(json === undefined ? {} : { json }) });
      expect([path, answer.status]).toEqual([path, 403]);
      expect((await readProblem(answer)).code).toBe("forbidden");
    }
    // Nothing changed: still one live session, no key, the password as it was.
    expect((await (await api.request("/v1/auth/sessions", { headers: user.bearer })).json()).data.length).toBe(2);
    expect((await (await api.request("/v1/api-keys", { headers: user.bearer })).json()).data).toEqual([]);
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
    // What it is for still works: the profile, the session's identity, organizations.
    expect((await api.request("/v1/me", { headers: jwt })).status).toBe(200);
    expect((await api.request("/v1/auth/session", { headers: jwt })).status).toBe(200);
    expect((await api.request("/v1/orgs", { headers: jwt })).status).toBe(200);
  });
});

describe("security review: session tokens", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  test("#15 a browser sign-in gets the HttpOnly cookie only; the token is in the body only when the client asks", async () => {
    const email = `cookie-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const browser = await api.request("/v1/auth/sign-up", {
      method: "POST",
      headers: { origin: ORIGIN },
      json: { email, password: PASSWORD },
    });
    expect(browser.status).toBe(201);
    expect((await browser.json()).sessionToken).toBeUndefined();
    expect(sessionCookieFrom(browser)).toStartWith("burrow_session=ses_");
    const native = await api.request("/v1/auth/sign-in", {
      method: "POST",
      headers: BEARER_CLIENT,
      json: { email, password: PASSWORD },
    });
    expect((await native.json()).sessionToken).toStartWith("ses_");
  });

  test("#15 step-up gives the session a new token; the old one stops working", async () => {
    const user = await signUpUser(api);
    const old = user.token;
    const renewed = await reauthenticate(api, user);
    expect(renewed.status).toBe(200);
    expect(user.token).not.toBe(old);
    expect(user.token.split(".")[0]).toBe(old.split(".")[0]);
    expect((await api.request("/v1/auth/session", { headers: { authorization: `Bearer ${old}` } })).status).toBe(401);
    expect((await api.request("/v1/auth/session", { headers: user.bearer })).status).toBe(200);
    // A cookie client gets the new token as a new cookie, not in the body.
    const cookie = `burrow_session=${user.token}`;
    const byCookie = await api.request("/v1/auth/reauthenticate", {
      method: "POST",
      headers: { cookie, origin: ORIGIN },
      json: { password: user.password },
    });
    expect(byCookie.status).toBe(200);
    expect((await byCookie.json()).sessionToken).toBeUndefined();
    expect(sessionCookieFrom(byCookie)).not.toBe(cookie);
    expect((await api.request("/v1/auth/session", { headers: { cookie: sessionCookieFrom(byCookie) } })).status).toBe(
      200,
    );
  });
});
