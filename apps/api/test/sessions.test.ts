import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { authSessions } from "@burrow/platform-auth/schema";
import {
  createTestApi,
  ORIGIN,
  PASSWORD,
  readProblem,
  reauthenticate,
  sessionCookieFrom,
  signIn,
  signUpUser,
  type TestApi,
} from "./helpers.ts";

describe("sessions", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  const session = (headers: Record<string, string>) => api.request("/v1/auth/session", { headers });

  test("the current session answers with the user and the session", async () => {
    const user = await signUpUser(api);
    const response = await session(user.bearer);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.user.id).toBe(user.id);
    expect(body.session).toMatchObject({ current: true, authMethods: ["password"] });
    expect(body.session.id).toBe(user.token.split(".")[0]);
  });

  test("without credentials, or with forged ones, it is 401", async () => {
    const user = await signUpUser(api);
    const [id, secret] = user.token.split(".") as [string, string];
    const cases: [Record<string, string>, string][] = [
      [{}, "unauthenticated"],
      [{ authorization: `Bearer ${id}.${secret.slice(0, -1)}` }, "invalid_token"],
      [{ authorization: `Bearer ${id}.${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}` }, "invalid_token"],
      [{ authorization: `Bearer ${id}` }, "invalid_token"],
      [{ authorization: `Bearer ${user.id}.${secret}` }, "invalid_token"],
      [{ authorization: `Bearer ${"ses_01m80w6abjfs8rxpmyhr2jmyty"}.${secret}` }, "invalid_token"],
      [{ authorization: `Bearer bk_key_${secret}` }, "invalid_token"],
      [{ authorization: `Basic ${btoa("a:b")}` }, "invalid_token"],
      [{ authorization: "Bearer" }, "invalid_token"],
      [{ cookie: `burrow_session=${id}.garbage` }, "invalid_token"],
    ];
    for (const [headers, code] of cases) {
      const response = await session(headers);
      expect(response.status).toBe(401);
      expect((await readProblem(response)).code).toBe(code);
    }
  });

  test("list marks the current session; revoking one ends it on its very next request", async () => {
    const user = await signUpUser(api);
    const second = await (
      await signIn(api, user.email, user.password, { headers: { "user-agent": "Second Browser/1.0" } })
    ).json();
    const list = await (await api.request("/v1/auth/sessions", { headers: user.bearer })).json();
    expect(list.data.length).toBe(2);
    expect(list.data.filter((entry: { current: boolean }) => entry.current).length).toBe(1);
    const other = list.data.find((entry: { current: boolean }) => !entry.current);
    expect(other.userAgent).toBe("Second Browser/1.0");
    expect(Object.keys(other).sort()).toEqual([
      "authMethods",
      "authenticatedAt",
      "createdAt",
      "current",
      "expiresAt",
      "id",
      "idleExpiresAt",
      "impersonatedBy",
      "lastActiveAt",
      "restricted",
      "userAgent",
    ]);
    expect(other.impersonatedBy).toBeNull();

    const revoke = await api.request(`/v1/auth/sessions/${other.id}`, { method: "DELETE", headers: user.bearer });
    expect(revoke.status).toBe(204);
    const afterRevoke = await session({ authorization: `Bearer ${second.sessionToken}` });
    expect(afterRevoke.status).toBe(401);
    expect((await readProblem(afterRevoke)).code).toBe("session_expired");
    expect((await session(user.bearer)).status).toBe(200);
    // Revoking it again: nothing to revoke.
    expect(
      (await api.request(`/v1/auth/sessions/${other.id}`, { method: "DELETE", headers: user.bearer })).status,
    ).toBe(404);
  });

  test("another user's session id, an unknown one and a malformed one change nothing", async () => {
    const owner = await signUpUser(api);
    const stranger = await signUpUser(api);
    const ownerSessionId = owner.token.split(".")[0];
    const foreign = await api.request(`/v1/auth/sessions/${ownerSessionId}`, {
      method: "DELETE",
      headers: stranger.bearer,
    });
    expect(foreign.status).toBe(404);
    expect((await readProblem(foreign)).code).toBe("not_found");
    expect((await session(owner.bearer)).status).toBe(200);
    for (const bad of ["nope", owner.id, `${ownerSessionId}x`, "ses_", "ses_%2e%2e"]) {
      const response = await api.request(`/v1/auth/sessions/${bad}`, { method: "DELETE", headers: stranger.bearer });
      expect(response.status).toBe(400);
      expect((await readProblem(response)).code).toBe("invalid_id");
    }
    expect((await session(owner.bearer)).status).toBe(200);
  });

  test("revoke-others keeps only the current session", async () => {
    const user = await signUpUser(api);
    const others = await Promise.all([signIn(api, user.email, user.password), signIn(api, user.email, user.password)]);
    const tokens = await Promise.all(others.map(async (response) => (await response.json()).sessionToken as string));
    const response = await api.request("/v1/auth/sessions/revoke-others", { method: "POST", headers: user.bearer });
    expect(await response.json()).toEqual({ revoked: 2 });
    for (const token of tokens) expect((await session({ authorization: `Bearer ${token}` })).status).toBe(401);
    expect((await session(user.bearer)).status).toBe(200);
  });

  test("sign-out ends the session and clears the cookie", async () => {
    const user = await signUpUser(api);
    const signedIn = await signIn(api, user.email, user.password);
    const cookie = sessionCookieFrom(signedIn);
    const out = await api.request("/v1/auth/sign-out", { method: "POST", headers: { cookie, origin: ORIGIN } });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join()).toMatch(/burrow_session=;.*Max-Age=0/);
    expect((await session({ cookie })).status).toBe(401);
    expect(
      (await api.request("/v1/auth/sign-out", { method: "POST", headers: { cookie, origin: ORIGIN } })).status,
    ).toBe(401);
    expect((await session(user.bearer)).status).toBe(200);
  });

  test("a suspended user's sessions get 401 on their very next request", async () => {
    const user = await signUpUser(api);
    expect((await session(user.bearer)).status).toBe(200);
    await api.platform.auth.users.suspend(api.platform.db, user.id as never, "system", {});
    const response = await session(user.bearer);
    expect(response.status).toBe(401);
    expect((await readProblem(response)).code).toBe("session_expired");
    await api.platform.auth.users.unsuspend(api.platform.db, user.id as never, "system", {});
    // Suspension revoked the sessions; lifting it does not bring them back.
    expect((await session(user.bearer)).status).toBe(401);
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
  });

  test("last activity is written at most once every 5 minutes", async () => {
    const user = await signUpUser(api);
    const id = user.token.split(".")[0]!;
    const lastActive = async () =>
      (await api.platform.db.select().from(authSessions).where(eq(authSessions.id, id)))[0]!.lastActiveAt.getTime();
    const start = await lastActive();
    api.clock.advance(4 * 60_000);
    await session(user.bearer);
    expect(await lastActive()).toBe(start);
    api.clock.advance(60_000);
    await session(user.bearer);
    expect(await lastActive()).toBe(start + 5 * 60_000);
  });

  test("a session idle for 7 days ends; an active one ends after 30 days regardless", async () => {
    const idle = await signUpUser(api);
    const active = await signUpUser(api);
    for (let day = 1; day <= 6; day++) {
      api.clock.advance(86_400_000);
      expect((await session(active.bearer)).status).toBe(200);
    }
    api.clock.advance(86_400_000);
    expect((await session(idle.bearer)).status).toBe(401);
    for (let day = 8; day < 30; day++) {
      api.clock.advance(86_400_000);
      expect((await session(active.bearer)).status).toBe(200);
    }
    api.clock.advance(86_400_000);
    const expired = await session(active.bearer);
    expect(expired.status).toBe(401);
    expect((await readProblem(expired)).code).toBe("session_expired");
  });

  test("expired sessions are not listed", async () => {
    const user = await signUpUser(api);
    const other = await (await signIn(api, user.email, user.password)).json();
    api.clock.advance(6 * 86_400_000);
    await session(user.bearer);
    api.clock.advance(86_400_000 + 1);
    const list = await (await api.request("/v1/auth/sessions", { headers: user.bearer })).json();
    expect(list.data.map((entry: { id: string }) => entry.id)).toEqual([user.token.split(".")[0]]);
    expect(list.data.some((entry: { id: string }) => entry.id === other.session.id)).toBe(false);
  });
});

describe("CSRF", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi({ BURROW_ALLOWED_ORIGINS: "https://app.example.com" });
  });
  afterAll(() => api.close());

  test("a cookie-authenticated unsafe request must come from an allowed origin", async () => {
    const user = await signUpUser(api);
    const cookie = sessionCookieFrom(await signIn(api, user.email, user.password));
    const attempt = (headers: Record<string, string>) =>
      api.request("/v1/auth/sessions/revoke-others", { method: "POST", headers: { cookie, ...headers } });
    const refused: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { origin: "null" },
      {},
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
      { origin: "https://evil.example", "sec-fetch-site": "same-origin" },
    ];
    for (const headers of refused) {
      const response = await attempt(headers);
      expect(response.status).toBe(403);
      expect((await readProblem(response)).code).toBe("csrf_rejected");
    }
    // The answer names the Origin it saw and the setting that allows more.
    const named = await readProblem(await attempt({ origin: "http://127.0.0.1:3000" }));
    expect(named.code).toBe("csrf_rejected");
    expect(named.detail).toContain("http://127.0.0.1:3000");
    expect(named.detail).toContain("BURROW_ALLOWED_ORIGINS");
    // text/plain bodies get no exemption either: refused before reaching the route.
    const plain = await api.request("/v1/auth/sign-out", {
      method: "POST",
      headers: { cookie, origin: "https://evil.example", "content-type": "text/plain" },
      body: "{}",
    });
    expect(plain.status).toBe(403);
    expect((await api.request("/v1/auth/session", { headers: { cookie } })).status).toBe(200);

    expect((await attempt({ origin: ORIGIN })).status).toBe(200);
    expect((await attempt({ origin: "https://app.example.com" })).status).toBe(200);
    expect((await attempt({ "sec-fetch-site": "same-origin" })).status).toBe(200);
  });

  test("login CSRF: sign-in from a foreign origin is refused", async () => {
    const user = await signUpUser(api);
    const response = await signIn(api, user.email, user.password, { headers: { origin: "https://evil.example" } });
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  test("Bearer-authenticated requests are not subject to the origin check", async () => {
    const user = await signUpUser(api);
    const response = await api.request("/v1/auth/sessions/revoke-others", {
      method: "POST",
      headers: { ...user.bearer, origin: "https://tool.example" },
    });
    expect(response.status).toBe(200);
  });
});

describe("change password", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  const change = (headers: Record<string, string>, json: unknown) =>
    api.request("/v1/auth/password/change", { method: "POST", headers, json });

  test("needs the current password, revokes every other session and keeps this one", async () => {
    const user = await signUpUser(api);
    const other = (await (await signIn(api, user.email, user.password)).json()).sessionToken;
    const wrong = await change(user.bearer, {
      currentPassword: "not the right password",
      newPassword: "a brand new passphrase",
    });
    expect(wrong.status).toBe(401);
    expect((await readProblem(wrong)).code).toBe("invalid_credentials");
    expect((await api.request("/v1/auth/session", { headers: { authorization: `Bearer ${other}` } })).status).toBe(200);

    expect(
      (await change(user.bearer, { currentPassword: user.password, newPassword: "a brand new passphrase" })).status,
    ).toBe(204);
    expect((await api.request("/v1/auth/session", { headers: { authorization: `Bearer ${other}` } })).status).toBe(401);
    expect((await api.request("/v1/auth/session", { headers: user.bearer })).status).toBe(200);
    expect((await signIn(api, user.email, user.password)).status).toBe(401);
    expect((await signIn(api, user.email, "a brand new passphrase")).status).toBe(200);
    // The owner is told, through the outbox.
    const mail = await api.platform.email.outbox.list(api.platform.db, { to: user.email });
    expect(mail.map((message) => message.templateKey)).toEqual(["auth.password_changed"]);
  });

  test("the last 5 passwords cannot be used again", async () => {
    const user = await signUpUser(api);
    const passwords = [
      PASSWORD,
      "second long passphrase",
      "third long passphrase",
      "fourth long passphrase",
      "fifth long passphrase",
      "sixth long passphrase",
    ];
    for (let index = 1; index < passwords.length; index++) {
      expect(
        (await change(user.bearer, { currentPassword: passwords[index - 1], newPassword: passwords[index] })).status,
      ).toBe(204);
    }
    // The last five — the current (sixth) and the four before it — are refused.
    for (const reused of passwords.slice(1)) {
      const response = await change(user.bearer, { currentPassword: "sixth long passphrase", newPassword: reused });
      expect(response.status).toBe(422);
      expect((await readProblem(response)).code).toBe("password_reused");
    }
    // The first is now six passwords back: allowed again.
    expect(
      (await change(user.bearer, { currentPassword: "sixth long passphrase", newPassword: PASSWORD })).status,
    ).toBe(204);
  });

  test("the new password meets the policy; bad input changes nothing", async () => {
    const user = await signUpUser(api);
    const weak = await change(user.bearer, { currentPassword: user.password, newPassword: "short" });
    expect(weak.status).toBe(422);
    expect((await readProblem(weak)).code).toBe("weak_password");
    for (const body of [
      {},
      { currentPassword: user.password },
      { currentPassword: user.password, newPassword: "y".repeat(10_240) },
      { currentPassword: user.password, newPassword: "another long pass", userId: "usr_01m80w6a2kfrk8cgrdkafx9sz5" },
    ]) {
      expect((await change(user.bearer, body)).status).toBe(400);
    }
    expect((await change({}, { currentPassword: user.password, newPassword: "another long pass" })).status).toBe(401);
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
  });

  test("needs a recent re-authentication", async () => {
    const user = await signUpUser(api);
    api.clock.advance(11 * 60_000);
    const stale = await change(user.bearer, { currentPassword: user.password, newPassword: "a brand new passphrase" });
    expect((await readProblem(stale)).code).toBe("reauthentication_required");
    expect((await reauthenticate(api, user)).status).toBe(200);
    expect(
      (await change(user.bearer, { currentPassword: user.password, newPassword: "a brand new passphrase" })).status,
    ).toBe(204);
  });

  test("guessing the current password meets the lockout", async () => {
    const user = await signUpUser(api);
    for (let attempt = 0; attempt < 5; attempt++)
      await change(user.bearer, { currentPassword: `guess number ${attempt}`, newPassword: "a brand new passphrase" });
    const locked = await change(user.bearer, { currentPassword: user.password, newPassword: "a brand new passphrase" });
    expect(locked.status).toBe(429);
  });
});
