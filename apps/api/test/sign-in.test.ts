import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { UserId } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import {
  BEARER_CLIENT,
  createTestApi,
  ORIGIN,
  PASSWORD,
  readProblem,
  sessionCookieFrom,
  signIn,
  signUpUser,
  type TestApi,
} from "./helpers.ts";

describe("sign-up and sign-in (verification off)", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  test("sign-up creates the account, signs in and sets an HttpOnly cookie", async () => {
    const response = await api.request("/v1/auth/sign-up", {
      method: "POST",
      headers: BEARER_CLIENT,
      json: { email: "  Grace.Hopper@Example.COM ", password: PASSWORD, name: "Grace Hopper" },
    });
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(body.user).toMatchObject({
      email: "Grace.Hopper@Example.COM",
      name: "Grace Hopper",
      status: "active",
      emailVerified: false,
    });
    expect(body.user.privateMetadata).toBeUndefined();
    expect(body.session.current).toBe(true);
    expect(body.sessionToken).toMatch(/^ses_[0-9a-z]{26}\.[A-Za-z0-9_-]{43}$/);
    const cookie = response.headers.getSetCookie().join("\n");
    expect(cookie).toContain(`burrow_session=${body.sessionToken}`);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).toContain("Path=/");
    // Plain-http development origin: no __Host- prefix and no Secure.
    expect(cookie).not.toContain("__Host-");
    expect(cookie).not.toContain("Secure");
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  test("the same address in another case or with spaces is taken", async () => {
    const response = await api.request("/v1/auth/sign-up", {
      method: "POST",
      json: { email: "grace.hopper@example.com", password: PASSWORD },
    });
    expect(response.status).toBe(409);
    expect((await readProblem(response)).code).toBe("email_taken");
  });

  test("sign-in with the right password starts a new session", async () => {
    const user = await signUpUser(api);
    const response = await signIn(api, user.email.toUpperCase(), user.password);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.user.id).toBe(user.id);
    expect(body.sessionToken).not.toBe(user.token);
    expect(body.user.lastSignInAt).toBe(api.clock.now().toISOString());
    const session = await api.request("/v1/auth/session", {
      headers: { authorization: `Bearer ${body.sessionToken}` },
    });
    expect((await session.json()).user.id).toBe(user.id);
  });

  test("a sign-in whose caller hung up before its hash is answered 499 caller_gone, and costs the account nothing", async () => {
    const user = await signUpUser(api);
    // The request's signal is what the hasher's queue watches (Bun aborts it when the caller hangs up).
    const caller = new AbortController();
    caller.abort();
    for (let attempt = 0; attempt < 6; attempt++) {
      const gone = await api.request("/v1/auth/sign-in", {
        method: "POST",
        headers: { ...BEARER_CLIENT, origin: ORIGIN },
        json: { email: user.email, password: "not the password at all" },
        signal: caller.signal,
      });
      expect(gone.status).toBe(499);
      expect((await readProblem(gone)).code).toBe("caller_gone");
    }
    // More attempts than the lockout allows were dropped, none counted: the password still signs in.
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
  });

  /** `times` sign-ins with a wrong password, each refused as wrong (not as locked). */
  const wrongTimes = async (user: { email: string }, times: number) => {
    for (let attempt = 0; attempt < times; attempt++) {
      const response = await signIn(api, user.email, "not the password at all");
      expect((await readProblem(response)).code).toBe("invalid_credentials");
    }
  };

  test("the right password clears the failures before it: the count starts again from nothing", async () => {
    // BURROW_LOCKOUT is 5 failures in 15 minutes: 4 + 4 would lock if the sign-in between kept them.
    const user = await signUpUser(api);
    await wrongTimes(user, 4);
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
    await wrongTimes(user, 4);
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
    // The fifth failure in a row locks, as it would have from the start.
    await wrongTimes(user, 5);
    expect((await readProblem(await signIn(api, user.email, user.password))).code).toBe("too_many_attempts");
  });

  test("the right password clears the failures before it even when the sign-in is then refused", async () => {
    const user = await signUpUser(api);
    await wrongTimes(user, 4);
    // Refused inside the completion's transaction, which rolls back: the account is no operator.
    await expect(
      api.platform.auth.signIn({ email: user.email, password: user.password }, {}, { result: "admin_session" }),
    ).rejects.toMatchObject({ code: "forbidden" });
    await wrongTimes(user, 4);
    // Refused before it: the account is suspended.
    await api.platform.db.transaction((tx) => api.platform.auth.users.suspend(tx, user.id as UserId, "system", {}));
    expect((await readProblem(await signIn(api, user.email, user.password))).code).toBe("account_suspended");
    await api.platform.db.transaction((tx) => api.platform.auth.users.unsuspend(tx, user.id as UserId, "system", {}));
    await wrongTimes(user, 4);
    // Twelve failures, never five in a row without the right password between: no lock.
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
  });

  test("an unknown email and a wrong password get byte-identical answers", async () => {
    const user = await signUpUser(api);
    const headers = { "x-request-id": "fixed-request-id-1" };
    const wrong = await signIn(api, user.email, "not the right password", { headers });
    const unknown = await signIn(api, "nobody-here@example.com", "not the right password", { headers });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(wrong.status);
    expect(unknown.headers.get("content-type")).toBe(wrong.headers.get("content-type"));
    const wrongBody = new Uint8Array(await wrong.arrayBuffer());
    const unknownBody = new Uint8Array(await unknown.arrayBuffer());
    expect(unknownBody).toEqual(wrongBody);
    expect(JSON.parse(new TextDecoder().decode(wrongBody)).code).toBe("invalid_credentials");
  });

  test("a session id planted before sign-in is not the one issued", async () => {
    const victim = await signUpUser(api);
    const attacker = await signUpUser(api);
    const planted = `burrow_session=${attacker.token}`;
    const response = await signIn(api, victim.email, victim.password, { headers: { cookie: planted, origin: ORIGIN } });
    expect(response.status).toBe(200);
    const issued = sessionCookieFrom(response);
    expect(issued).not.toBe(planted);
    const body = await response.json();
    expect(issued).toBe(`burrow_session=${body.sessionToken}`);
    // The planted session was not handed to the victim, and it ended with the sign-in (ASVS V7.2.4).
    const planted_ = await api.request("/v1/auth/session", { headers: { authorization: `Bearer ${attacker.token}` } });
    expect(planted_.status).toBe(401);
    const forged = await signIn(api, victim.email, victim.password, {
      headers: {
        cookie: "burrow_session=ses_01m80w6abjfs8rxpmyhr2jmyty.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        origin: ORIGIN,
      },
    });
    expect(sessionCookieFrom(forged)).not.toContain("ses_01m80w6abjfs8rxpmyhr2jmyty");
  });

  test("weak passwords are refused with the rule that failed, and no account is created", async () => {
    const cases: [string, string][] = [
      ["short", "min_length"],
      ["qwerty123456", "common"],
      ["weak.person rocks hard", "personal"],
      ["x".repeat(257), "max_length"],
    ];
    for (const [password, rule] of cases) {
      const response = await api.request("/v1/auth/sign-up", {
        method: "POST",
        json: { email: "weak.person@example.com", password },
      });
      expect(response.status).toBe(422);
      const problem = await readProblem(response);
      expect(problem.code).toBe("weak_password");
      expect((problem as unknown as { rule: string }).rule).toBe(rule);
    }
    expect((await signIn(api, "weak.person@example.com", "anything at all here")).status).toBe(401);
    expect(await api.platform.auth.users.findByEmail(api.platform.db, "weak.person@example.com")).toBeUndefined();
  });

  test("bad input is a 4xx problem and creates nothing", async () => {
    const attempts: { body: unknown; status: number; code: string }[] = [
      { body: {}, status: 400, code: "validation_failed" },
      { body: { email: "no-at-sign", password: PASSWORD }, status: 400, code: "validation_failed" },
      { body: { email: `${"a".repeat(250)}@example.com`, password: PASSWORD }, status: 400, code: "validation_failed" },
      { body: { email: 42, password: PASSWORD }, status: 400, code: "validation_failed" },
      { body: { email: "mass@example.com", password: "x".repeat(10_240) }, status: 400, code: "validation_failed" },
      {
        body: { email: "mass@example.com", password: PASSWORD, status: "active" },
        status: 400,
        code: "validation_failed",
      },
      {
        body: { email: "mass@example.com", password: PASSWORD, emailVerifiedAt: "2020-01-01T00:00:00Z" },
        status: 400,
        code: "validation_failed",
      },
      {
        body: { email: "mass@example.com", password: PASSWORD, privateMetadata: { admin: true } },
        status: 400,
        code: "validation_failed",
      },
      {
        body: { email: "mass@example.com", password: PASSWORD, id: "usr_01m80w6a2kfrk8cgrdkafx9sz5" },
        status: 400,
        code: "validation_failed",
      },
      { body: [], status: 400, code: "validation_failed" },
      { body: "a string", status: 400, code: "validation_failed" },
    ];
    for (const attempt of attempts) {
      const response = await api.request("/v1/auth/sign-up", { method: "POST", json: attempt.body });
      expect(response.status).toBe(attempt.status);
      expect((await readProblem(response)).code).toBe(attempt.code);
    }
    expect(await api.platform.auth.users.findByEmail(api.platform.db, "mass@example.com")).toBeUndefined();
    const tenKb = await signIn(api, "someone@example.com", "x".repeat(10_240));
    expect(tenKb.status).toBe(400);
    const missing = await api.request("/v1/auth/sign-in", { method: "POST", json: { email: "someone@example.com" } });
    expect((await readProblem(missing)).errors?.[0]?.path).toBe("password");
  });

  test("hashes made with older parameters are upgraded at the next sign-in", async () => {
    const user = await signUpUser(api);
    const { credentialsPassword } = await import("@burrow/platform-auth/schema");
    const weak = await Bun.password.hash(PASSWORD.normalize("NFKC"), {
      algorithm: "argon2id",
      memoryCost: 4096,
      timeCost: 1,
    });
    await api.platform.db
      .update(credentialsPassword)
      .set({ hash: weak })
      .where(eq(credentialsPassword.userId, user.id));
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
    const [row] = await api.platform.db
      .select()
      .from(credentialsPassword)
      .where(eq(credentialsPassword.userId, user.id));
    expect(row!.hash).toStartWith("$argon2id$v=19$m=19456,t=2,p=1$");
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
  });

  test("a suspended account is told so only after the right password", async () => {
    const user = await signUpUser(api);
    await api.platform.auth.users.suspend(api.platform.db, user.id as never, "system", {});
    const right = await signIn(api, user.email, user.password);
    expect(right.status).toBe(403);
    expect((await readProblem(right)).code).toBe("account_suspended");
    const wrong = await signIn(api, user.email, "not the right password");
    expect((await readProblem(wrong)).code).toBe("invalid_credentials");
  });

  test("sign-in and sign-out are audited without secrets", async () => {
    const user = await signUpUser(api);
    await signIn(api, user.email, "not the right password");
    await signIn(api, user.email, user.password);
    await api.request("/v1/auth/sign-out", { method: "POST", headers: user.bearer });
    const entries = await api.platform.db.select().from(auditLogs).where(eq(auditLogs.targetId, user.id));
    const actions = entries.map((entry) => entry.action);
    expect(actions).toContain("user.signed_up");
    expect(actions).toContain("user.sign_in_failed");
    expect(actions).toContain("user.signed_in");
    const signOut = await api.platform.db.select().from(auditLogs).where(eq(auditLogs.action, "user.signed_out"));
    expect(signOut.some((entry) => entry.actorId === user.id)).toBe(true);
    const all = JSON.stringify(await api.platform.db.select().from(auditLogs));
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain("not the right password");
    expect(all).not.toContain(user.token.split(".")[1]!);
    expect(entries.every((entry) => entry.ip !== "192.0.2.10" && entry.requestId !== null)).toBe(true);
  });
});

describe("sign-up and sign-in with email verification required", () => {
  let api: TestApi;
  /** What the outbox holds, oldest first, as `template:recipient`. */
  const notices = async () =>
    (await api.platform.email.outbox.list(api.platform.db))
      .reverse()
      .map((message) => `${message.templateKey}:${message.to}`);
  beforeAll(async () => {
    api = await createTestApi({ BURROW_EMAIL_VERIFICATION: "required" });
  });
  afterAll(() => api.close());

  test("a new and an existing address get the same answer; the owner is told instead", async () => {
    const headers = { "x-request-id": "fixed-request-id-2" };
    const first = await api.request("/v1/auth/sign-up", {
      method: "POST",
      headers,
      json: { email: "lin@example.com", password: PASSWORD },
    });
    const again = await api.request("/v1/auth/sign-up", {
      method: "POST",
      headers,
      json: { email: "LIN@example.com", password: "another long passphrase" },
    });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(await again.text()).toBe(await first.text());
    expect(first.headers.getSetCookie()).toEqual([]);
    expect(await notices()).toEqual([
      "auth.verify_email:lin@example.com",
      "auth.sign_up_existing_account:lin@example.com",
    ]);
  });

  test("the right password on an unverified account is 403 email_not_verified and re-sends a minute after the last mail, rate limited", async () => {
    const before = (await notices()).length;
    const wrong = await signIn(api, "lin@example.com", "not the right password");
    expect((await readProblem(wrong)).code).toBe("invalid_credentials");
    const sent: (boolean | undefined)[] = [];
    // Right after sign-up: nothing more is sent.
    const early = await signIn(api, "lin@example.com", PASSWORD);
    expect(early.status).toBe(403);
    const problem = await readProblem(early);
    expect(problem.code).toBe("email_not_verified");
    sent.push(problem.verificationEmailSent);
    api.clock.advance(59_999);
    sent.push((await readProblem(await signIn(api, "lin@example.com", PASSWORD))).verificationEmailSent);
    // From a minute after the last mail, a sign-in sends one; then the cooldown runs again.
    for (let index = 0; index < 4; index++) {
      api.clock.advance(60_000);
      sent.push((await readProblem(await signIn(api, "lin@example.com", PASSWORD))).verificationEmailSent);
      sent.push((await readProblem(await signIn(api, "lin@example.com", PASSWORD))).verificationEmailSent);
    }
    // A burst of 3 re-sends, then one per 10 minutes.
    expect(sent).toEqual([false, false, true, false, true, false, true, false, false, false]);
    expect((await notices()).slice(before)).toEqual([
      "auth.verify_email:lin@example.com",
      "auth.verify_email:lin@example.com",
      "auth.verify_email:lin@example.com",
    ]);
    api.clock.advance(10 * 60_000);
    expect((await readProblem(await signIn(api, "lin@example.com", PASSWORD))).verificationEmailSent).toBe(true);
    expect((await notices()).length).toBe(before + 4);
  });

  test("once verified, the account signs in", async () => {
    const user = await api.platform.auth.users.findByEmail(api.platform.db, "lin@example.com");
    await api.platform.auth.users.markEmailVerified(api.platform.db, user!.id as never);
    const response = await signIn(api, "lin@example.com", PASSWORD);
    expect(response.status).toBe(200);
    expect((await response.json()).user.emailVerified).toBe(true);
  });
});
