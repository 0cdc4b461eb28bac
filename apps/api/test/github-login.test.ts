import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createLogger } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { oauthAccounts, users } from "@burrow/platform-auth/schema";
import {
  BEARER_CLIENT,
  createTestApi,
  grantPlatformPermissions,
  ORIGIN,
  signIn,
  signUpUser,
  type TestApi,
} from "./helpers.ts";
import { startFakeGitHub, type FakeGitHub, type FakeGitHubAccount } from "./github.ts";
import { APP, Browser } from "./oidc.ts";

let api: TestApi;
let github: FakeGitHub;
/** Every log line, at the most talkative level: searched for tokens at the end. */
const lines: string[] = [];

beforeAll(async () => {
  github = startFakeGitHub({ redirectUris: [`${ORIGIN}/v1/auth/oauth/github/callback`] });
  api = await createTestApi(
    {
      BURROW_REDIRECT_ORIGINS: APP,
      BURROW_OAUTH_PROVIDERS: JSON.stringify([
        {
          id: "github",
          type: "github",
          clientId: github.clientId,
          clientSecret: github.clientSecret,
          endpoints: github.endpoints,
        },
        // The same GitHub app with a wrong secret: what an operator's test must catch.
        {
          id: "github-wrong-secret",
          type: "github",
          clientId: github.clientId,
          clientSecret: "not-the-secret",
          endpoints: github.endpoints,
        },
      ]),
    },
    { log: createLogger({ level: "debug", write: (line) => void lines.push(line) }) },
  );
});

afterAll(async () => {
  await api.close();
  await github.close();
});

let counter = 0;
/** A GitHub account for this test (numeric id), the next to sign in; by default one primary, verified address. */
function account(overrides: Partial<FakeGitHubAccount> = {}): { id: number; email: string } {
  const id = 1_000_000 + ++counter;
  const email = `gh-${id}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  github.accounts.set(id, {
    login: `octo-${id}`,
    name: "Octo Cat",
    emails: [
      { email: `old-${id}@example.com`, primary: false, verified: true },
      { email, primary: true, verified: true },
    ],
    ...overrides,
  });
  github.nextLogin = id;
  return { id, email };
}

const beyondFlow = (url: URL) =>
  url.origin === APP ||
  (url.origin === ORIGIN && !url.pathname.startsWith("/v1/auth/oauth/") && !url.pathname.startsWith("/auth/"));

async function socialLogin(browser: Browser) {
  return browser.navigate(`${ORIGIN}/v1/auth/oauth/github/start`, { stopAt: beyondFlow });
}

/** Starts, and stops where GitHub sends the browser back: the callback URL, unvisited. */
async function untilCallback(browser: Browser): Promise<string> {
  const { response, url } = await browser.navigate(`${ORIGIN}/v1/auth/oauth/github/start`, {
    stopAt: (next) => next.pathname.endsWith("/callback"),
  });
  return new URL(response.headers.get("location")!, url).toString();
}

async function me(
  browser: Browser,
): Promise<{ user: { id: string; email: string; emailVerified: boolean } } | undefined> {
  const token = browser.cookie(ORIGIN, "burrow_session");
  if (token === undefined) return undefined;
  const response = await api.request("/v1/auth/session", { headers: { authorization: `Bearer ${token}` } });
  return response.status === 200 ? ((await response.json()) as Awaited<ReturnType<typeof me>>) : undefined;
}

async function refusal(response: Response): Promise<{ status: number; code: string | undefined }> {
  const text = await response.text();
  return { status: response.status, code: /Error code: <code>([a-z_]+)<\/code>/.exec(text)?.[1] };
}

const countUsers = async () => (await api.platform.db.select({ id: users.id }).from(users)).length;
const countLinks = async () => (await api.platform.db.select({ id: oauthAccounts.id }).from(oauthAccounts)).length;
const failures = async () =>
  (await api.platform.db.select().from(auditLogs).where(eq(auditLogs.action, "oauth.sign_in_failed"))).map(
    (entry) => (entry.metadata as { reason: string }).reason,
  );

describe("GitHub sign-in", () => {
  test("a first login creates a user with GitHub's verified primary address; the next is the same user by numeric id, after the address changed", async () => {
    const browser = new Browser(api, ORIGIN);
    const { id, email } = account();
    const start = await browser.fetch(`${ORIGIN}/v1/auth/oauth/github/start`);
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get("location")!);
    expect(`${location.origin}${location.pathname}`).toBe(github.endpoints.authorization);
    expect(location.searchParams.get("scope")).toBe("read:user user:email");
    expect(location.searchParams.get("code_challenge_method")).toBe("S256");
    expect(location.searchParams.get("state")).toBeTruthy();
    // No ID token comes back to carry a nonce.
    expect(location.searchParams.has("nonce")).toBe(false);

    const { response } = await browser.navigate(location.toString(), { stopAt: beyondFlow });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("You are signed in");
    const signedIn = await me(browser);
    expect(signedIn?.user).toMatchObject({ email, emailVerified: true });
    expect(browser.cookie(ORIGIN, "burrow_oauth")).toBeUndefined();

    const [link] = await api.platform.db
      .select()
      .from(oauthAccounts)
      .where(eq(oauthAccounts.userId, signedIn!.user.id));
    expect(link).toMatchObject({ provider: "github", subject: String(id), email, emailVerified: true });
    expect(link!.profile).toMatchObject({ name: "Octo Cat", login: `octo-${id}` });
    // The access token: encrypted at rest, and never in a URL the browser went to.
    const accessToken = github.issuedTokens.at(-1)!;
    expect(link!.accessTokenEncrypted).toMatch(/^v1\./);
    expect(link!.accessTokenEncrypted).not.toContain(accessToken);
    expect(browser.visited.some((url) => url.includes(accessToken))).toBe(false);
    const [user] = await api.platform.db.select().from(users).where(eq(users.id, signedIn!.user.id));
    expect(user!.name).toBe("Octo Cat");

    // The user renames their login and changes their primary address on GitHub: still the same user.
    github.accounts.set(id, {
      login: "renamed",
      name: null,
      emails: [{ email: `new-${id}@example.com`, primary: true, verified: true }],
    });
    github.nextLogin = id;
    const usersBefore = await countUsers();
    const again = new Browser(api, ORIGIN);
    await socialLogin(again);
    expect((await me(again))?.user.id).toBe(signedIn!.user.id);
    expect(await countUsers()).toBe(usersBefore);
    const [refreshed] = await api.platform.db.select().from(oauthAccounts).where(eq(oauthAccounts.id, link!.id));
    expect(refreshed).toMatchObject({ email: `new-${id}@example.com`, subject: String(id) });
    expect(refreshed!.profile).toMatchObject({ name: "renamed", login: "renamed" });
  });

  test("an unverified primary address nobody uses makes a user whose address is unverified", async () => {
    const email = `unverified-${crypto.randomUUID().slice(0, 8)}@example.com`;
    account({
      emails: [
        { email, primary: true, verified: false },
        { email: `verified-${crypto.randomUUID().slice(0, 8)}@example.com`, primary: false, verified: true },
      ],
    });
    const browser = new Browser(api, ORIGIN);
    await socialLogin(browser);
    // The primary address is the one used, verified or not; another verified address does not stand in for it.
    expect((await me(browser))?.user).toMatchObject({ email, emailVerified: false });
  });

  test("an unverified primary address that has an account is not linked: 409 oauth_link_required, nothing changes", async () => {
    const owner = await signUpUser(api);
    account({ emails: [{ email: owner.email, primary: true, verified: false }] });
    const usersBefore = await countUsers();
    const linksBefore = await countLinks();
    const browser = new Browser(api, ORIGIN);
    const { response } = await socialLogin(browser);
    expect(await refusal(response)).toEqual({ status: 409, code: "oauth_link_required" });
    expect(browser.cookie(ORIGIN, "burrow_session")).toBeUndefined();
    expect(await countUsers()).toBe(usersBefore);
    expect(await countLinks()).toBe(linksBefore);
    expect((await signIn(api, owner.email, owner.password)).status).toBe(200);
  });

  test("a verified primary address that has an account links it (GitHub is trusted for its verified addresses by default)", async () => {
    const owner = await signUpUser(api);
    account({ emails: [{ email: owner.email, primary: true, verified: true }] });
    const browser = new Browser(api, ORIGIN);
    await socialLogin(browser);
    expect((await me(browser))?.user.id).toBe(owner.id);
  });

  test("no primary address: a new GitHub account is refused with oauth_failed; a linked one still signs in by its id", async () => {
    const { id } = account({ emails: [] });
    const usersBefore = await countUsers();
    const browser = new Browser(api, ORIGIN);
    const { response } = await socialLogin(browser);
    expect(await refusal(response)).toEqual({ status: 400, code: "oauth_failed" });
    expect(await countUsers()).toBe(usersBefore);
    expect(browser.cookie(ORIGIN, "burrow_session")).toBeUndefined();

    // Linked first with an address, then the addresses are gone (or hidden): the id still signs in.
    github.accounts.get(id)!.emails = [{ email: `back-${id}@example.com`, primary: true, verified: true }];
    const first = new Browser(api, ORIGIN);
    await socialLogin(first);
    const userId = (await me(first))!.user.id;
    github.accounts.get(id)!.emails = [];
    github.nextLogin = id;
    const later = new Browser(api, ORIGIN);
    await socialLogin(later);
    expect((await me(later))?.user.id).toBe(userId);
  });

  test("a signed-in user links their GitHub account (whatever its address), then signs in with it", async () => {
    const user = await signUpUser(api);
    const browser = new Browser(api, ORIGIN);
    browser.setCookie(ORIGIN, "burrow_session", user.token);
    const { id } = account({ emails: [{ email: "elsewhere@example.com", primary: true, verified: false }] });
    const { response } = await browser.navigate(`${ORIGIN}/v1/auth/oauth/github/start?link=1`, { stopAt: beyondFlow });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("The account is linked");
    const list = (await (await api.request("/v1/me/accounts", { headers: user.bearer })).json()) as {
      data: { provider: string; email: string }[];
    };
    expect(list.data).toEqual([expect.objectContaining({ provider: "github", email: "elsewhere@example.com" })]);
    github.nextLogin = id;
    const later = new Browser(api, ORIGIN);
    await socialLogin(later);
    expect((await me(later))?.user.id).toBe(user.id);
  });

  test("an app's flow ends in a one-time code for the app, exchanged with its verifier for a session", async () => {
    const verifier = crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const challenge = Buffer.from(digest).toString("base64url");
    const { email } = account();
    const browser = new Browser(api, ORIGIN);
    const { response } = await browser.navigate(
      `${ORIGIN}/v1/auth/oauth/github/start?redirectTo=${encodeURIComponent(`${APP}/native`)}&codeChallenge=${challenge}`,
      { stopAt: beyondFlow },
    );
    expect(response.status).toBe(303);
    const target = new URL(response.headers.get("location")!);
    expect([...target.searchParams.keys()]).toEqual(["code"]);
    const exchange = await api.request("/v1/auth/oauth/exchange", {
      method: "POST",
      json: { code: target.searchParams.get("code"), codeVerifier: verifier },
      headers: BEARER_CLIENT,
    });
    expect(exchange.status).toBe(200);
    const { sessionToken } = (await exchange.json()) as { sessionToken: string };
    const session = await api.request("/v1/auth/session", { headers: { authorization: `Bearer ${sessionToken}` } });
    expect(((await session.json()) as { user: { email: string } }).user.email).toBe(email);
  });

  test("a code exchanged with another flow's PKCE verifier is refused by GitHub", async () => {
    const browser = new Browser(api, ORIGIN);
    account();
    const first = new URL(await untilCallback(browser));
    const second = new URL(await untilCallback(browser));
    second.searchParams.set("code", first.searchParams.get("code")!);
    const usersBefore = await countUsers();
    const { response } = await browser.navigate(second.toString(), { stopAt: beyondFlow });
    expect(await refusal(response)).toEqual({ status: 400, code: "oauth_failed" });
    expect(github.tokenOutcomes.at(-1)).toBe("bad_verification_code");
    expect(await countUsers()).toBe(usersBefore);
    expect(browser.cookie(ORIGIN, "burrow_session")).toBeUndefined();
  });

  test("a used state and a replayed code are refused", async () => {
    const browser = new Browser(api, ORIGIN);
    account();
    const callback = await untilCallback(browser);
    const binding = browser.cookie(ORIGIN, "burrow_oauth")!;
    await browser.navigate(callback, { stopAt: beyondFlow });
    expect(await me(browser)).toBeDefined();
    const usersBefore = await countUsers();

    // The same answer again, with the cookie put back: the state was used.
    const replay = new Browser(api, ORIGIN);
    replay.setCookie(ORIGIN, "burrow_oauth", binding, "/v1/auth/oauth/");
    const outcomes = github.tokenOutcomes.length;
    const { response } = await replay.navigate(callback, { stopAt: beyondFlow });
    expect(await refusal(response)).toEqual({ status: 400, code: "invalid_oauth_state" });
    expect(github.tokenOutcomes.length).toBe(outcomes);

    // The used code under a fresh state of the same browser: GitHub refuses to exchange it again.
    account();
    const fresh = new URL(await untilCallback(replay));
    fresh.searchParams.set("code", new URL(callback).searchParams.get("code")!);
    const second = await replay.navigate(fresh.toString(), { stopAt: beyondFlow });
    expect(await refusal(second.response)).toEqual({ status: 400, code: "oauth_failed" });
    expect(github.tokenOutcomes.at(-1)).toBe("bad_verification_code");
    expect(await countUsers()).toBe(usersBefore);
    expect(replay.cookie(ORIGIN, "burrow_session")).toBeUndefined();
  });

  test("a state from another browser is refused before GitHub is asked", async () => {
    account();
    const callback = await untilCallback(new Browser(api, ORIGIN));
    const stranger = new Browser(api, ORIGIN);
    stranger.setCookie(ORIGIN, "burrow_oauth", "forged-binding", "/v1/auth/oauth/");
    const outcomes = github.tokenOutcomes.length;
    const { response } = await stranger.navigate(callback, { stopAt: beyondFlow });
    expect(await refusal(response)).toEqual({ status: 400, code: "invalid_oauth_state" });
    expect(github.tokenOutcomes.length).toBe(outcomes);
  });

  /**
   * A sign-in while the fake GitHub misbehaves (`misbehave` returns how to undo it): refused as
   * oauth_failed, audited with `reason`, and nothing created.
   */
  async function expectRefusedWhile(misbehave: () => () => void, reason: string): Promise<void> {
    account();
    const undo = misbehave();
    const usersBefore = await countUsers();
    const failuresBefore = await failures();
    try {
      const { response } = await socialLogin(new Browser(api, ORIGIN));
      expect(await refusal(response)).toEqual({ status: 400, code: "oauth_failed" });
    } finally {
      undo();
    }
    expect(await countUsers()).toBe(usersBefore);
    // The one entry this sign-in added (rows come back in no promised order).
    const added = await failures();
    for (const earlier of failuresBefore) added.splice(added.indexOf(earlier), 1);
    expect(added).toEqual([reason]);
  }

  test("GitHub's user API refusing the token is oauth_failed, audited, and creates nothing", () =>
    expectRefusedWhile(() => {
      github.userStatus = 401;
      return () => {
        github.userStatus = undefined;
      };
    }, "github_user_status_401"));

  test.each([
    ["a string id", { id: "1234", login: "octo" }],
    ["no id", { login: "octo" }],
    ["an id that is not an integer", { id: 1.5, login: "octo" }],
    ["not an object", ["octo"]],
  ])("a /user answer with %s is oauth_failed and creates nothing", (_what, body) =>
    expectRefusedWhile(() => {
      github.userBody = body;
      return () => {
        github.userBody = undefined;
      };
    }, "github_user_invalid"),
  );

  test("GitHub's error answer (the user denied access) is refused", async () => {
    const browser = new Browser(api, ORIGIN);
    account();
    const callback = new URL(await untilCallback(browser));
    callback.searchParams.delete("code");
    callback.searchParams.set("error", "access_denied");
    const outcomes = github.tokenOutcomes.length;
    const { response } = await browser.navigate(callback.toString(), { stopAt: beyondFlow });
    expect(await refusal(response)).toEqual({ status: 400, code: "oauth_failed" });
    expect(github.tokenOutcomes.length).toBe(outcomes);
  });

  test("a GitHub provider added at run time starts at github.com with S256 and GitHub's scopes", async () => {
    const manager = await signUpUser(api);
    await grantPlatformPermissions(api, manager.id, ["settings:read", "oauth_providers:manage"]);
    const added = await api.request("/v1/admin/oauth-providers", {
      method: "POST",
      headers: manager.bearer,
      json: { id: "gh-runtime", type: "github", clientId: "runtime-client", clientSecret: "runtime-secret" },
    });
    expect(added.status).toBe(201);
    expect(((await added.json()) as { trustEmail: boolean }).trustEmail).toBe(true);
    // The start asks nothing of GitHub (no discovery): the redirect alone.
    const start = await new Browser(api, ORIGIN).fetch(`${ORIGIN}/v1/auth/oauth/gh-runtime/start`);
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get("location")!);
    expect(`${location.origin}${location.pathname}`).toBe("https://github.com/login/oauth/authorize");
    expect(location.searchParams.get("client_id")).toBe("runtime-client");
    expect(location.searchParams.get("scope")).toBe("read:user user:email");
    expect(location.searchParams.get("code_challenge_method")).toBe("S256");
    expect(location.searchParams.get("redirect_uri")).toBe(`${ORIGIN}/v1/auth/oauth/gh-runtime/callback`);
    expect(location.search).not.toContain("runtime-secret");
  });

  // Last: everything above has run.
  test("an operator's test of a GitHub provider checks its client id and secret at the token endpoint", async () => {
    const manager = await signUpUser(api);
    await grantPlatformPermissions(api, manager.id, ["settings:read", "oauth_providers:manage"]);
    const check = async (id: string) => {
      const response = await api.request(`/v1/admin/oauth-providers/${id}/test`, {
        method: "POST",
        headers: manager.bearer,
      });
      expect(response.status).toBe(200);
      return (await response.json()) as { ok: boolean; error?: string };
    };
    expect(await check("github")).toMatchObject({ ok: true });
    expect(await check("github-wrong-secret")).toMatchObject({ ok: false, error: "incorrect_client_credentials" });
    // Nothing was redeemed: the fake GitHub saw only refused codes and refused credentials.
    expect(github.tokenOutcomes.slice(-2)).toEqual(["bad_verification_code", "incorrect_client_credentials"]);
  });

  test("no GitHub access token or client secret is in the log or the audit log", async () => {
    expect(github.issuedTokens.length).toBeGreaterThan(5);
    expect(lines.length).toBeGreaterThan(0);
    const audit = JSON.stringify(await api.platform.db.select().from(auditLogs));
    for (const secret of [...github.issuedTokens, github.clientSecret]) {
      expect(lines.some((line) => line.includes(secret))).toBe(false);
      expect(audit.includes(secret)).toBe(false);
    }
  });
});
