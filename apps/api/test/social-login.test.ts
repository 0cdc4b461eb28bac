import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import { oauthAccounts, oauthStates, users } from "@burrow/platform-auth/schema";
import { referenceTotp } from "@burrow/platform-auth/testing";
import {
  BEARER_CLIENT,
  createTestApi,
  enrolTotp,
  ORIGIN,
  post,
  reauthenticate,
  readProblem,
  signIn,
  signUpUser,
  type TestApi,
} from "./helpers.ts";
import { APP, Browser, startIdentityProvider, type TestIdentityProvider } from "./oidc.ts";

let api: TestApi;
/** `trusted`: its verified addresses are believed. `other`: a second provider (mix-up), not trusted. */
let trusted: TestIdentityProvider;
let other: TestIdentityProvider;

const callbacks = [`${ORIGIN}/v1/auth/oauth/trusted/callback`, `${ORIGIN}/v1/auth/oauth/other/callback`];

beforeAll(async () => {
  trusted = await startIdentityProvider({ redirectUris: callbacks });
  other = await startIdentityProvider({ redirectUris: callbacks });
  api = await createTestApi({
    BURROW_REDIRECT_ORIGINS: APP,
    BURROW_OAUTH_PROVIDERS: JSON.stringify([
      {
        id: "trusted",
        type: "oidc",
        issuer: trusted.issuer,
        clientId: trusted.clientId,
        clientSecret: trusted.clientSecret,
        trustEmail: true,
      },
      { id: "other", type: "oidc", issuer: other.issuer, clientId: other.clientId, clientSecret: other.clientSecret },
    ]),
  });
  // The providers stamp their tokens with real time; Burrow's checks use the test clock, from now.
  api.clock.set(new Date());
});

afterAll(async () => {
  await api.close();
  await trusted.close();
  await other.close();
});

let counter = 0;
/** A provider account for this test: its subject, with the claims given. */
function identity(idp: TestIdentityProvider, claims: { email?: string; email_verified?: boolean; name?: string } = {}) {
  const subject = `sub-${++counter}-${crypto.randomUUID().slice(0, 8)}`;
  idp.accounts.set(subject, { email: `${subject}@example.com`, email_verified: true, name: "Ada Social", ...claims });
  idp.nextLogin = subject;
  return { subject, email: idp.accounts.get(subject)!.email! };
}

/** Where a navigation must not go on: Burrow's pages outside the flow, and the app's origin. */
const beyondFlow = (url: URL) =>
  url.origin === APP ||
  (url.origin === ORIGIN && !url.pathname.startsWith("/v1/auth/oauth/") && !url.pathname.startsWith("/auth/"));

/** Starts at Burrow and goes through the provider back to the callback's answer (redirects beyond it are not followed). */
async function socialLogin(browser: Browser, provider: string, query = "") {
  return browser.navigate(`${ORIGIN}/v1/auth/oauth/${provider}/start${query}`, { stopAt: beyondFlow });
}

/** Starts, and stops where the provider sends the browser back to Burrow: the callback URL, unvisited. */
async function untilCallback(browser: Browser, provider: string, query = ""): Promise<string> {
  const { response, url } = await browser.navigate(`${ORIGIN}/v1/auth/oauth/${provider}/start${query}`, {
    stopAt: (next) => next.pathname.endsWith("/callback"),
  });
  return new URL(response.headers.get("location")!, url).toString();
}

const sessionOf = (browser: Browser) => browser.cookie(ORIGIN, "burrow_session");

async function me(
  browser: Browser,
): Promise<{ user: { id: string; email: string; emailVerified: boolean } } | undefined> {
  const token = sessionOf(browser);
  if (token === undefined) return undefined;
  const response = await api.request("/v1/auth/session", { headers: { authorization: `Bearer ${token}` } });
  return response.status === 200
    ? ((await response.json()) as { user: { id: string; email: string; emailVerified: boolean } })
    : undefined;
}

/** The refusal page a failed callback renders: its status and the error code it names. */
async function refusal(response: Response): Promise<{ status: number; code: string | undefined }> {
  const text = await response.text();
  return { status: response.status, code: /Error code: <code>([a-z_]+)<\/code>/.exec(text)?.[1] };
}

const countUsers = async () => (await api.platform.db.select({ id: users.id }).from(users)).length;
const actions = async (action: string) => api.platform.db.select().from(auditLogs).where(eq(auditLogs.action, action));

describe("social login: the redirect flow", () => {
  test("a first login creates a verified user, signs in with the session cookie, and a second login is the same user", async () => {
    const browser = new Browser(api, ORIGIN);
    const { email } = identity(trusted);
    const start = await browser.fetch(`${ORIGIN}/v1/auth/oauth/trusted/start`);
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get("location")!);
    expect(location.origin).toBe(trusted.issuer);
    expect(location.searchParams.get("code_challenge_method")).toBe("S256");
    expect(location.searchParams.get("nonce")).toBeTruthy();
    const stateCookie = start.headers.getSetCookie().find((line) => line.startsWith("burrow_oauth="))!;
    expect(stateCookie).toContain("HttpOnly");
    expect(stateCookie).toContain("SameSite=Lax");
    expect(stateCookie).toContain("Max-Age=600");
    expect(stateCookie).toContain("Path=/v1/auth/oauth/");

    const { response } = await browser.navigate(location.toString(), { stopAt: beyondFlow });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("You are signed in");
    const signedIn = await me(browser);
    expect(signedIn?.user.email).toBe(email);
    expect(signedIn?.user.emailVerified).toBe(true);
    // The state cookie is gone, and the state is spent.
    expect(browser.cookie(ORIGIN, "burrow_oauth")).toBeUndefined();

    const [account] = await api.platform.db
      .select()
      .from(oauthAccounts)
      .where(eq(oauthAccounts.userId, signedIn!.user.id));
    expect(account).toMatchObject({ provider: "trusted", email, emailVerified: true });
    // Provider tokens are encrypted at rest.
    expect(account!.accessTokenEncrypted).toMatch(/^v1\./);
    const sessions = (await actions("user.signed_in")).filter((entry) => entry.targetId === signedIn!.user.id);
    expect(sessions.map((entry) => (entry.metadata as { methods: string[] }).methods)).toEqual([["oauth:trusted"]]);

    const again = new Browser(api, ORIGIN);
    trusted.nextLogin = account!.subject;
    const users_before = await countUsers();
    await socialLogin(again, "trusted");
    expect((await me(again))?.user.id).toBe(signedIn!.user.id);
    expect(await countUsers()).toBe(users_before);
  });

  test("after sign-in the browser goes to an allowed redirectTo, and only there", async () => {
    const browser = new Browser(api, ORIGIN);
    identity(trusted);
    const { response } = await socialLogin(browser, "trusted", `?redirectTo=${encodeURIComponent(`${APP}/home`)}`);
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(`${APP}/home`);
    expect(await me(browser)).toBeDefined();
  });

  test.each([
    "//evil.example",
    "https:evil.example",
    "/\\evil.example",
    "%2F%2Fevil.example",
    "javascript:alert(1)",
    "https://evil.example/",
  ])("redirectTo %p is refused at the start: 400, no state, never followed", async (redirectTo) => {
    const browser = new Browser(api, ORIGIN);
    const before = (await api.platform.db.select().from(oauthStates)).length;
    // %2F%2F… is sent encoded once more: the server sees the literal "%2F%2Fevil.example".
    const response = await browser.fetch(
      `${ORIGIN}/v1/auth/oauth/trusted/start?redirectTo=${encodeURIComponent(redirectTo)}`,
    );
    if (redirectTo === "%2F%2Fevil.example") {
      // A path on PUBLIC_URL: allowed, and it stays on our origin.
      expect(response.status).toBe(302);
      const row = (await api.platform.db.select().from(oauthStates)).at(-1)!;
      expect(new URL(row.redirectTo!).origin).toBe(ORIGIN);
      return;
    }
    expect(response.status).toBe(400);
    expect((await readProblem(response)).code).toBe("invalid_redirect");
    expect(response.headers.get("location")).toBeNull();
    expect((await api.platform.db.select().from(oauthStates)).length).toBe(before);
  });

  test("an unknown provider is a 404 problem", async () => {
    const response = await api.request("/v1/auth/oauth/nobody/start");
    expect(response.status).toBe(404);
    expect((await readProblem(response)).code).toBe("not_found");
  });
});

describe("social login: every bad callback is refused and changes nothing", () => {
  async function expectRefused(browser: Browser, target: string, code: string, usersBefore: number) {
    const { response } = await browser.navigate(target, { stopAt: beyondFlow });
    expect(await refusal(response)).toEqual({ status: 400, code });
    expect(sessionOf(browser)).toBeUndefined();
    expect(await countUsers()).toBe(usersBefore);
  }

  test("no state, a forged state, and a state from another browser", async () => {
    const usersBefore = await countUsers();
    const browser = new Browser(api, ORIGIN);
    identity(trusted);
    const callback = await untilCallback(browser, "trusted");
    const withoutState = new URL(callback);
    withoutState.searchParams.delete("state");
    await expectRefused(browser, withoutState.toString(), "invalid_oauth_state", usersBefore);
    const forged = new URL(callback);
    forged.searchParams.set("state", "A".repeat(43));
    await expectRefused(browser, forged.toString(), "invalid_oauth_state", usersBefore);
    // Another browser (an attacker's link to their own login, sent to a victim) has no binding cookie.
    await expectRefused(new Browser(api, ORIGIN), callback, "invalid_oauth_state", usersBefore);
    // Nor could it burn the state: the browser that started the flow still completes it.
    const { response } = await browser.navigate(callback, { stopAt: beyondFlow });
    expect(response.status).toBe(200);
    expect(await me(browser)).toBeDefined();
    const failures = await actions("oauth.sign_in_failed");
    expect(failures.map((entry) => (entry.metadata as { reason: string }).reason)).toEqual(
      expect.arrayContaining(["missing_state", "unknown_state"]),
    );
  });

  test("a used state and a replayed code are refused", async () => {
    const browser = new Browser(api, ORIGIN);
    identity(trusted);
    const callback = await untilCallback(browser, "trusted");
    const binding = browser.cookie(ORIGIN, "burrow_oauth")!;
    await browser.navigate(callback, { stopAt: beyondFlow });
    expect(await me(browser)).toBeDefined();
    // The same answer again, with the cookie put back: the state was used.
    const replay = new Browser(api, ORIGIN);
    replay.setCookie(ORIGIN, "burrow_oauth", binding, "/v1/auth/oauth/");
    const usersBefore = await countUsers();
    await expectRefused(replay, callback, "invalid_oauth_state", usersBefore);

    // The used code under a fresh state of the same browser: the provider refuses to exchange it again.
    identity(trusted);
    const fresh = new URL(await untilCallback(replay, "trusted"));
    fresh.searchParams.set("code", new URL(callback).searchParams.get("code")!);
    await expectRefused(replay, fresh.toString(), "oauth_failed", usersBefore);
    expect(trusted.tokenResponses.at(-1)).toBe(400);
  });

  test("a code exchanged with another flow's PKCE verifier is refused by the provider", async () => {
    const browser = new Browser(api, ORIGIN);
    identity(trusted);
    const first = new URL(await untilCallback(browser, "trusted"));
    // A second flow in the same browser: its state (and binding) with the first flow's code.
    const second = new URL(await untilCallback(browser, "trusted"));
    second.searchParams.set("code", first.searchParams.get("code")!);
    const usersBefore = await countUsers();
    await expectRefused(browser, second.toString(), "oauth_failed", usersBefore);
    expect(trusted.tokenResponses.at(-1)).toBe(400);
  });

  test.each([
    ["aud", (claims: Record<string, unknown>) => ({ ...claims, aud: "someone-else" })],
    ["iss", (claims: Record<string, unknown>) => ({ ...claims, iss: other.issuer })],
    ["nonce", (claims: Record<string, unknown>) => ({ ...claims, nonce: "another-nonce" })],
    [
      "exp",
      (claims: Record<string, unknown>) => ({
        ...claims,
        iat: Math.floor(Date.now() / 1000) - 7200,
        exp: Math.floor(Date.now() / 1000) - 3600,
      }),
    ],
  ])("an ID token with a wrong %s is refused", async (_claim, tamper) => {
    const browser = new Browser(api, ORIGIN);
    identity(trusted);
    const usersBefore = await countUsers();
    trusted.tamper = tamper;
    try {
      const { response } = await socialLogin(browser, "trusted");
      expect(await refusal(response)).toEqual({ status: 400, code: "oauth_failed" });
    } finally {
      trusted.tamper = undefined;
    }
    expect(sessionOf(browser)).toBeUndefined();
    expect(await countUsers()).toBe(usersBefore);
  });

  test("an ID token that is not expired is accepted through the same tampering relay (the refusals above are the checks')", async () => {
    const browser = new Browser(api, ORIGIN);
    identity(trusted);
    trusted.tamper = (claims) => claims;
    try {
      await socialLogin(browser, "trusted");
    } finally {
      trusted.tamper = undefined;
    }
    expect(await me(browser)).toBeDefined();
  });

  test("an ID token that expired by the time of the callback (the clock moved) is refused", async () => {
    // A token valid for a minute from its issue; Burrow's clock is 5 minutes on when the callback comes.
    const browser = new Browser(api, ORIGIN);
    identity(trusted);
    trusted.tamper = (claims) => ({ ...claims, exp: (claims.iat as number) + 60 });
    try {
      const callback = await untilCallback(browser, "trusted");
      api.clock.advance(5 * 60_000);
      const { response } = await browser.navigate(callback, { stopAt: beyondFlow });
      expect(await refusal(response)).toEqual({ status: 400, code: "oauth_failed" });
    } finally {
      trusted.tamper = undefined;
      api.clock.set(new Date());
    }
  });

  test("a state older than 10 minutes is refused", async () => {
    const browser = new Browser(api, ORIGIN);
    identity(trusted);
    const callback = await untilCallback(browser, "trusted");
    api.clock.advance(10 * 60_000 + 1);
    try {
      const { response } = await browser.navigate(callback, { stopAt: beyondFlow });
      expect(await refusal(response)).toEqual({ status: 400, code: "invalid_oauth_state" });
    } finally {
      api.clock.set(new Date());
    }
  });

  test("a provider's error answer is refused", async () => {
    const browser = new Browser(api, ORIGIN);
    const start = await browser.fetch(`${ORIGIN}/v1/auth/oauth/trusted/start`);
    const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
    const { response } = await browser.navigate(
      `${ORIGIN}/v1/auth/oauth/trusted/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(trusted.issuer)}`,
    );
    expect(await refusal(response)).toEqual({ status: 400, code: "oauth_failed" });
    expect(sessionOf(browser)).toBeUndefined();
  });

  test("mix-up: another provider's answer to this provider's flow is refused, by the iss parameter and by the callback's provider", async () => {
    const browser = new Browser(api, ORIGIN);
    identity(other);
    const start = await browser.fetch(`${ORIGIN}/v1/auth/oauth/trusted/start`);
    const authorize = new URL(start.headers.get("location")!);
    // The same request, answered by the other provider (same client id, the trusted one's callback).
    const atOther = new URL(authorize.pathname + authorize.search, other.issuer);
    const { response, url } = await browser.navigate(atOther.toString(), {
      stopAt: (next) => next.pathname.endsWith("/callback"),
    });
    const callback = new URL(response.headers.get("location")!, url);
    expect(callback.pathname).toBe("/v1/auth/oauth/trusted/callback");
    expect(callback.searchParams.get("iss")).toBe(other.issuer);
    const usersBefore = await countUsers();
    // The trusted provider's state on the other provider's callback path: not this provider's flow.
    const wrongPath = new URL(callback);
    wrongPath.pathname = "/v1/auth/oauth/other/callback";
    const refusedPath = await browser.navigate(wrongPath.toString(), { stopAt: beyondFlow });
    expect(await refusal(refusedPath.response)).toEqual({ status: 400, code: "invalid_oauth_state" });
    // That refusal did not spend the state; the answer itself fails the issuer check.
    const refusedIssuer = await browser.navigate(callback.toString(), { stopAt: beyondFlow });
    expect(await refusal(refusedIssuer.response)).toEqual({ status: 400, code: "oauth_failed" });
    expect(await countUsers()).toBe(usersBefore);
    expect(sessionOf(browser)).toBeUndefined();
  });
});

describe("social login: accounts", () => {
  test("email_verified: false on an address that has an account is not linked: 409 oauth_link_required", async () => {
    const owner = await signUpUser(api);
    for (const [idp, id] of [
      [trusted, "trusted"],
      [other, "other"],
    ] as const) {
      identity(idp, { email: owner.email, email_verified: false });
      const browser = new Browser(api, ORIGIN);
      const { response } = await socialLogin(browser, id);
      expect(await refusal(response)).toEqual({ status: 409, code: "oauth_link_required" });
      expect(sessionOf(browser)).toBeUndefined();
    }
    // Verified, but by a provider not trusted for addresses: not linked either.
    identity(other, { email: owner.email, email_verified: true });
    const { response } = await socialLogin(new Browser(api, ORIGIN), "other");
    expect(await refusal(response)).toEqual({ status: 409, code: "oauth_link_required" });
    expect(await api.platform.db.select().from(oauthAccounts).where(eq(oauthAccounts.userId, owner.id))).toEqual([]);
    // The owner's password still works.
    expect((await signIn(api, owner.email, owner.password)).status).toBe(200);
  });

  test("pre-hijacking: a trusted provider's verified address claims an unverified account — the impostor's password and sessions go", async () => {
    const impostor = await signUpUser(api);
    expect((await api.request("/v1/auth/session", { headers: impostor.bearer })).status).toBe(200);
    identity(trusted, { email: impostor.email, email_verified: true });
    const victim = new Browser(api, ORIGIN);
    await socialLogin(victim, "trusted");
    const signedIn = await me(victim);
    expect(signedIn?.user.id).toBe(impostor.id);
    expect(signedIn?.user.emailVerified).toBe(true);
    expect((await api.request("/v1/auth/session", { headers: impostor.bearer })).status).toBe(401);
    expect((await signIn(api, impostor.email, impostor.password)).status).toBe(401);
    const claimed = (await actions("user.address_claimed")).filter((entry) => entry.targetId === impostor.id);
    expect(claimed).toHaveLength(1);
    const linked = (await actions("oauth.account_linked")).filter((entry) => entry.targetId === impostor.id);
    expect((linked[0]?.metadata as { how: string }).how).toBe("verified_address");
  });

  test("a trusted provider vouching for an account's added address links it but proves nothing about its primary one", async () => {
    const holder = await signUpUser(api);
    const added = `added-${holder.id}@example.com`;
    expect((await post(api, "/v1/me/emails", { email: added }, holder.bearer)).status).toBe(201);
    const [mail] = await api.platform.email.outbox.list(api.platform.db, { to: added });
    const text = (await api.platform.email.outbox.get(api.platform.db, mail!.id))!.text;
    const token = new URL(/http\S+\/auth\/confirm-email\?token=\S+/.exec(text)![0]).searchParams.get("token");
    expect((await post(api, "/v1/auth/email/confirm", { token })).status).toBe(200);
    identity(trusted, { email: added, email_verified: true });
    const browser = new Browser(api, ORIGIN);
    await socialLogin(browser, "trusted");
    const signedIn = await me(browser);
    expect(signedIn?.user.id).toBe(holder.id);
    // The primary address stays unproven, and its password and sessions stay.
    expect(signedIn?.user.emailVerified).toBe(false);
    expect((await api.request("/v1/auth/session", { headers: holder.bearer })).status).toBe(200);
    expect((await actions("user.address_claimed")).filter((entry) => entry.targetId === holder.id)).toHaveLength(0);
  });

  test("first logins of one provider account at once (two tabs) make one user with one link, and each tab is signed in", async () => {
    const { subject, email } = identity(trusted);
    const tabs = Array.from({ length: 4 }, () => new Browser(api, ORIGIN));
    const returns: string[] = [];
    for (const tab of tabs) {
      trusted.nextLogin = subject;
      returns.push(await untilCallback(tab, "trusted"));
    }
    const answers = await Promise.all(tabs.map((tab, index) => tab.fetch(returns[index]!)));
    expect(answers.map((answer) => answer.status)).toEqual(tabs.map(() => 200));
    const signedIn = await Promise.all(tabs.map((tab) => me(tab)));
    const [first] = signedIn;
    expect(signedIn.map((entry) => entry?.user.id)).toEqual(tabs.map(() => first!.user.id));
    expect(await api.platform.db.select().from(users).where(eq(users.email, email))).toHaveLength(1);
    expect(await api.platform.db.select().from(oauthAccounts).where(eq(oauthAccounts.subject, subject))).toHaveLength(
      1,
    );
  });

  test("a user with a second factor passes it after a social login: the hosted second step, then the session", async () => {
    const user = await signUpUser(api);
    await api.platform.db.update(users).set({ emailVerifiedAt: api.clock.now() }).where(eq(users.id, user.id));
    const { secret } = await enrolTotp(api, user);
    identity(trusted, { email: user.email, email_verified: true });
    const browser = new Browser(api, ORIGIN);
    const { response, url } = await socialLogin(
      browser,
      "trusted",
      `?redirectTo=${encodeURIComponent(`${APP}/after`)}`,
    );
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain("Two-step verification");
    expect(sessionOf(browser)).toBeUndefined();
    const mfaToken = /name="mfaToken" value="([^"]+)"/.exec(page)![1]!;
    const action = new URL(/<form method="post" action="([^"]+)"/.exec(page)![1]!, url);
    expect(action.toString()).toBe(`${ORIGIN}/auth/mfa`);
    // A wrong code: no session.
    const wrong = await browser.fetch(action.toString(), { form: { mfaToken, code: "000000" } });
    expect(wrong.status).toBe(400);
    expect(sessionOf(browser)).toBeUndefined();
    const code = referenceTotp(secret, Math.floor(api.clock.now().getTime() / 1000));
    const verified = await browser.fetch(action.toString(), { form: { mfaToken, code } });
    expect(verified.status).toBe(303);
    expect(verified.headers.get("location")).toBe(`${APP}/after`);
    expect((await me(browser))?.user.id).toBe(user.id);
    const sessions = (await actions("user.signed_in")).filter((entry) => entry.targetId === user.id);
    expect((sessions.at(-1)!.metadata as { methods: string[] }).methods).toEqual(["oauth:trusted", "totp"]);
  });

  test("a signed-in user links a provider, lists it and unlinks it; the last way to sign in cannot be unlinked", async () => {
    const user = await signUpUser(api);
    const browser = new Browser(api, ORIGIN);
    browser.setCookie(ORIGIN, "burrow_session", user.token);
    identity(other, { email: "a-different-address@example.com", email_verified: false });
    const { response } = await socialLogin(browser, "other", "?link=1");
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("The account is linked");
    const list = (await (await api.request("/v1/me/accounts", { headers: user.bearer })).json()) as {
      data: { id: string; provider: string }[];
    };
    expect(list.data.map((account) => account.provider)).toEqual(["other"]);
    // Signing in with it now is this user.
    const later = new Browser(api, ORIGIN);
    await socialLogin(later, "other");
    expect((await me(later))?.user.id).toBe(user.id);
    // Linking the same provider account to another user is refused.
    const someoneElse = await signUpUser(api);
    const thief = new Browser(api, ORIGIN);
    thief.setCookie(ORIGIN, "burrow_session", someoneElse.token);
    const taken = await socialLogin(thief, "other", "?link=1");
    expect(await refusal(taken.response)).toEqual({ status: 409, code: "oauth_account_taken" });
    // The user has a password: unlinking is allowed.
    const unlinked = await api.request(`/v1/me/accounts/${list.data[0]!.id}`, {
      method: "DELETE",
      headers: user.bearer,
    });
    expect(unlinked.status).toBe(204);
    expect(await api.platform.db.select().from(oauthAccounts).where(eq(oauthAccounts.userId, user.id))).toEqual([]);

    // A user who only ever signed in with a provider keeps it.
    const social = new Browser(api, ORIGIN);
    identity(trusted);
    await socialLogin(social, "trusted");
    const token = sessionOf(social)!;
    const own = (await (
      await api.request("/v1/me/accounts", { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      data: { id: string }[];
    };
    const last = await api.request(`/v1/me/accounts/${own.data[0]!.id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(last.status).toBe(409);
    expect((await readProblem(last)).code).toBe("last_sign_in_method");
    // Someone else's account id is not found.
    const foreign = await api.request(`/v1/me/accounts/${own.data[0]!.id}`, { method: "DELETE", headers: user.bearer });
    expect(foreign.status).toBe(404);
  });

  test("users linking one provider account at once: one links it, the others are told it is taken", async () => {
    const { subject } = identity(other, { email: "a-shared-provider-account@example.com", email_verified: false });
    const tabs: Browser[] = [];
    const returns: string[] = [];
    for (let index = 0; index < 4; index++) {
      const user = await signUpUser(api);
      const tab = new Browser(api, ORIGIN);
      tab.setCookie(ORIGIN, "burrow_session", user.token);
      other.nextLogin = subject;
      returns.push(await untilCallback(tab, "other", "?link=1"));
      tabs.push(tab);
    }
    const answers = await Promise.all(tabs.map((tab, index) => tab.fetch(returns[index]!)));
    const refusals = await Promise.all(answers.filter((answer) => answer.status !== 200).map(refusal));
    expect(refusals).toEqual([1, 2, 3].map(() => ({ status: 409, code: "oauth_account_taken" })));
    expect(await api.platform.db.select().from(oauthAccounts).where(eq(oauthAccounts.subject, subject))).toHaveLength(
      1,
    );
  });
});

describe("social login: linking and unlinking are the signed-in user's own acts", () => {
  test("unlinking needs a recent authentication", async () => {
    const user = await signUpUser(api);
    const browser = new Browser(api, ORIGIN);
    browser.setCookie(ORIGIN, "burrow_session", user.token);
    identity(other, { email: "unlink-later@example.com", email_verified: false });
    await socialLogin(browser, "other", "?link=1");
    const [account] = await api.platform.db.select().from(oauthAccounts).where(eq(oauthAccounts.userId, user.id));
    expect(account).toBeDefined();
    api.clock.advance(11 * 60_000);
    const late = await api.request(`/v1/me/accounts/${account!.id}`, { method: "DELETE", headers: user.bearer });
    expect(late.status).toBe(403);
    expect((await readProblem(late)).code).toBe("reauthentication_required");
    expect(await api.platform.db.select().from(oauthAccounts).where(eq(oauthAccounts.id, account!.id))).toHaveLength(1);
    expect((await reauthenticate(api, user)).status).toBe(200);
    const unlinked = await api.request(`/v1/me/accounts/${account!.id}`, { method: "DELETE", headers: user.bearer });
    expect(unlinked.status).toBe(204);
    expect(await api.platform.db.select().from(oauthAccounts).where(eq(oauthAccounts.id, account!.id))).toEqual([]);
  });

  test("a link whose session ended before the callback links nothing, and the code is never exchanged", async () => {
    const user = await signUpUser(api);
    const browser = new Browser(api, ORIGIN);
    browser.setCookie(ORIGIN, "burrow_session", user.token);
    identity(other, { email: "signed-out-meanwhile@example.com", email_verified: false });
    const callback = await untilCallback(browser, "other", "?link=1");
    // The user signs out (or their stolen session is revoked) while at the provider.
    const out = await api.request("/v1/auth/sign-out", {
      method: "POST",
      headers: { ...user.bearer, ...BEARER_CLIENT },
    });
    expect(out.status).toBe(204);
    const exchanges = other.tokenResponses.length;
    const { response } = await browser.navigate(callback, { stopAt: beyondFlow });
    expect(await refusal(response)).toEqual({ status: 401, code: "session_expired" });
    expect(other.tokenResponses.length).toBe(exchanges);
    expect(await api.platform.db.select().from(oauthAccounts).where(eq(oauthAccounts.userId, user.id))).toEqual([]);
    const failures = (await actions("oauth.sign_in_failed")).filter((entry) => entry.targetId === user.id);
    expect(failures.map((entry) => (entry.metadata as { reason: string }).reason)).toEqual(["link_session_ended"]);
  });
});

describe("social login: an app's one-time code", () => {
  async function appFlow(claims: { email?: string } = {}) {
    const verifier = crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const challenge = Buffer.from(digest).toString("base64url");
    const browser = new Browser(api, ORIGIN);
    identity(trusted, claims);
    const { response } = await socialLogin(
      browser,
      "trusted",
      `?redirectTo=${encodeURIComponent(`${APP}/native`)}&codeChallenge=${challenge}`,
    );
    expect(response.status).toBe(303);
    const target = new URL(response.headers.get("location")!);
    expect(target.origin + target.pathname).toBe(`${APP}/native`);
    // A one-time code, never a token, in the URL; and no session in the browser.
    expect([...target.searchParams.keys()]).toEqual(["code"]);
    expect(sessionOf(browser)).toBeUndefined();
    return { code: target.searchParams.get("code")!, verifier };
  }

  test("the code and the app's verifier give a session once; a wrong verifier or a replay is refused", async () => {
    const { code, verifier } = await appFlow();
    const exchange = (json: unknown) =>
      api.request("/v1/auth/oauth/exchange", { method: "POST", headers: BEARER_CLIENT, json });
    const exchanged = await exchange({ code, codeVerifier: verifier });
    expect(exchanged.status).toBe(200);
    const body = (await exchanged.json()) as { sessionToken: string; user: { id: string } };
    expect(
      (await api.request("/v1/auth/session", { headers: { authorization: `Bearer ${body.sessionToken}` } })).status,
    ).toBe(200);
    const replayed = await exchange({ code, codeVerifier: verifier });
    expect(replayed.status).toBe(400);
    expect((await readProblem(replayed)).code).toBe("invalid_oauth_state");

    const second = await appFlow();
    const wrong = await exchange({ code: second.code, codeVerifier: "x".repeat(64) });
    expect((await readProblem(wrong)).code).toBe("invalid_oauth_state");
    // The wrong try spent the code.
    expect((await exchange({ code: second.code, codeVerifier: second.verifier })).status).toBe(400);
  });

  const exchange = (json: unknown) =>
    api.request("/v1/auth/oauth/exchange", { method: "POST", headers: BEARER_CLIENT, json });

  test('with "result": "tokens" the exchange answers an access and a refresh token, and no session token', async () => {
    const { code, verifier } = await appFlow();
    // A result the exchange does not give is refused before the code is looked at: it stays usable.
    const bad = await exchange({ code, codeVerifier: verifier, result: "admin_session" });
    expect(bad.status).toBe(400);
    expect((await readProblem(bad)).code).toBe("validation_failed");

    const exchanged = await exchange({ code, codeVerifier: verifier, result: "tokens" });
    expect(exchanged.status).toBe(200);
    expect(exchanged.headers.getSetCookie().join()).not.toContain("burrow_session=");
    const tokens = (await exchanged.json()) as Record<string, unknown>;
    expect(Object.keys(tokens).sort()).toEqual(["accessToken", "expiresIn", "refreshToken", "tokenType"]);
    expect(tokens.tokenType).toBe("Bearer");
    const session = await api.request("/v1/auth/session", {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(session.status).toBe(200);
    const userId = ((await session.json()) as { user: { id: string } }).user.id;
    // A second later, so the two entries are told apart by their time (rows come back in no set order).
    api.clock.advance(1_000);
    const refreshed = await api.request("/v1/auth/token", {
      method: "POST",
      json: { grantType: "refresh_token", refreshToken: tokens.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    const issued = (await actions("token.issued"))
      .filter((entry) => entry.targetId === userId)
      .sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime());
    expect(issued.map((entry) => (entry.metadata as { grantType: string }).grantType)).toEqual([
      "oauth_exchange",
      "refresh_token",
    ]);
    expect((await exchange({ code, codeVerifier: verifier, result: "tokens" })).status).toBe(400);
  });

  test("with a second factor, tokens come from the second step", async () => {
    const user = await signUpUser(api);
    await api.platform.db.update(users).set({ emailVerifiedAt: api.clock.now() }).where(eq(users.id, user.id));
    const { secret } = await enrolTotp(api, user);
    const { code, verifier } = await appFlow({ email: user.email });
    const exchanged = await exchange({ code, codeVerifier: verifier, result: "tokens" });
    const challenge = (await exchanged.json()) as { mfaRequired: boolean; mfaToken: string };
    expect(challenge.mfaRequired).toBe(true);
    const verified = await api.request("/v1/auth/mfa/verify", {
      method: "POST",
      headers: BEARER_CLIENT,
      json: {
        mfaToken: challenge.mfaToken,
        method: "totp",
        code: referenceTotp(secret, Math.floor(api.clock.now().getTime() / 1000)),
      },
    });
    expect(verified.status).toBe(200);
    const tokens = (await verified.json()) as { accessToken: string; refreshToken: string; sessionToken?: string };
    expect(tokens.refreshToken).toBeTruthy();
    expect(tokens.sessionToken).toBeUndefined();
    const session = await api.request("/v1/auth/session", {
      headers: { authorization: `Bearer ${tokens.accessToken}` },
    });
    expect(((await session.json()) as { user: { id: string } }).user.id).toBe(user.id);
  });

  test("an app's flow needs an allowed redirectTo and a well-formed challenge", async () => {
    const noTarget = await api.request(`/v1/auth/oauth/trusted/start?codeChallenge=${"a".repeat(43)}`);
    expect((await readProblem(noTarget)).code).toBe("validation_failed");
    const badChallenge = await api.request(
      `/v1/auth/oauth/trusted/start?codeChallenge=short&redirectTo=${encodeURIComponent(APP)}`,
    );
    expect((await readProblem(badChallenge)).code).toBe("validation_failed");
  });
});
