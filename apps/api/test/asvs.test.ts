import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { securityHeaders } from "@burrow/platform-http";
import { eq } from "drizzle-orm";
import { mfaRecoveryCodes, users } from "@burrow/platform-auth/schema";
import { loadConfig } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import {
  BEARER_CLIENT,
  createTestApi,
  enrolTotp,
  ORIGIN,
  readProblem,
  signIn,
  signUpUser,
  TEST_ENV,
  type TestApi,
} from "./helpers.ts";

// Checks the ASVS 5.0 level 2 checklist in docs/security.md cites that no other suite made: cookies
// and headers as a browser on https sees them, passwords taken exactly as typed and never expiring,
// the service's own name refused in passwords, and a provider whose metadata names another issuer.

const PUBLIC = "https://id.example.com";

/** A discovery document at a loopback address, claiming `claimedIssuer` (its own address when unset). */
function discoveryServer(claimedIssuer?: string): { issuer: string; stop(): Promise<void> } {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request): Response {
      const own: string = `http://127.0.0.1:${server.port}`;
      if (new URL(request.url).pathname !== "/.well-known/openid-configuration")
        return new Response("", { status: 404 });
      return Response.json({
        issuer: claimedIssuer ?? own,
        authorization_endpoint: `${own}/auth`,
        token_endpoint: `${own}/token`,
        jwks_uri: `${own}/jwks`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
        code_challenge_methods_supported: ["S256"],
      });
    },
  });
  return { issuer: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

describe("ASVS V3: what a browser on https is given", () => {
  let api: TestApi;
  let honest: ReturnType<typeof discoveryServer>;
  let liar: ReturnType<typeof discoveryServer>;

  beforeAll(async () => {
    honest = discoveryServer();
    // V10.5.3: metadata served at one address that claims to be another issuer.
    liar = discoveryServer("https://accounts.example.com");
    api = await createTestApi({
      PUBLIC_URL: PUBLIC,
      BURROW_OAUTH_PROVIDERS: JSON.stringify([
        { id: "honest", type: "oidc", issuer: honest.issuer, clientId: "burrow", clientSecret: "not-a-real-secret" },
        { id: "liar", type: "oidc", issuer: liar.issuer, clientId: "burrow", clientSecret: "not-a-real-secret" },
      ]),
    });
  });
  afterAll(async () => {
    await api.close();
    await honest.stop();
    await liar.stop();
  });

  test("the session cookie is __Host-burrow_session: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain; the token is in no body", async () => {
    const response = await api.request("/v1/auth/sign-up", {
      method: "POST",
      headers: { origin: PUBLIC },
      json: { email: "cookie.jar@example.com", password: "purple submarine garden" },
    });
    expect(response.status).toBe(201);
    const [cookie, ...others] = response.headers.getSetCookie();
    expect(others).toEqual([]);
    const [pair, ...attributes] = cookie!.split(/;\s*/);
    expect(pair).toMatch(/^__Host-burrow_session=ses_[0-9a-z]{26}\.[A-Za-z0-9_-]{43}$/);
    expect(attributes).toContain("Secure");
    expect(attributes).toContain("HttpOnly");
    expect(attributes).toContain("SameSite=Lax");
    expect(attributes).toContain("Path=/");
    expect(attributes.some((attribute) => attribute.toLowerCase().startsWith("domain="))).toBe(false);
    // Only Set-Cookie carries the token to a browser: scripts on the page cannot read it anywhere.
    const body = JSON.stringify(await response.json());
    expect(body).not.toContain(pair!.split("=")[1]!);
    expect(body).not.toContain("sessionToken");
  });

  test("the social-login binding cookie is __Secure-burrow_oauth: Secure, HttpOnly, SameSite=Lax, on the OAuth path only", async () => {
    const start = await api.request("/v1/auth/oauth/honest/start");
    expect(start.status).toBe(302);
    expect(new URL(start.headers.get("location")!).origin).toBe(honest.issuer);
    const [cookie] = start.headers.getSetCookie();
    const [pair, ...attributes] = cookie!.split(/;\s*/);
    expect(pair).toStartWith("__Secure-burrow_oauth=");
    expect(attributes).toContain("Secure");
    expect(attributes).toContain("HttpOnly");
    expect(attributes).toContain("SameSite=Lax");
    expect(attributes).toContain("Path=/v1/auth/oauth/");
  });

  test("a provider whose metadata names another issuer is refused before any redirect (V10.5.3)", async () => {
    // The same document as the honest provider's (which redirects, above) but for its issuer.
    const start = await api.request("/v1/auth/oauth/liar/start");
    expect(start.status).toBe(503);
    expect((await readProblem(start)).code).toBe("service_unavailable");
    expect(start.headers.get("location")).toBeNull();
    expect(start.headers.getSetCookie()).toEqual([]);
  });

  test("API answers and hosted pages forbid framing, plugins and <base>; no sniffing, no referrer", async () => {
    const answers = [
      await api.request("/healthz"),
      await api.request("/v1/auth/session"),
      await api.request("/auth/forgot-password"),
    ];
    for (const response of answers) {
      const policy = (response.headers.get("content-security-policy") ?? "").split(/;\s*/);
      expect(policy).toContain("default-src 'none'");
      expect(policy).toContain("frame-ancestors 'none'");
      expect(policy).toContain("base-uri 'none'");
      // object-src is not named: it falls back to default-src 'none'.
      expect(policy.some((directive) => directive.startsWith("object-src"))).toBe(false);
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      expect(response.headers.get("referrer-policy")).toMatch(/^(no-referrer|same-origin)$/);
    }
  });
});

describe("ASVS V3.4.1: HSTS in production", () => {
  test("every response carries Strict-Transport-Security for two years, subdomains included; none in development", async () => {
    const answer = (production: boolean) =>
      new Hono()
        .use(securityHeaders({ production }))
        .get("/", (c) => c.text("ok"))
        .get("/missing", (c) => c.notFound())
        .request(production ? "/missing" : "/");
    const hsts = (await answer(true)).headers.get("strict-transport-security")!;
    const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1]);
    expect(maxAge).toBeGreaterThanOrEqual(365 * 24 * 3600);
    expect(hsts).toContain("includeSubDomains");
    expect((await answer(false)).headers.get("strict-transport-security")).toBeNull();
  });
});

describe("ASVS V6.2: passwords", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  test("a fresh installation has no accounts: no default administrator to guess (V6.3.2)", async () => {
    expect(await api.platform.db.select({ id: users.id }).from(users)).toEqual([]);
  });

  test("a long password signs in exactly as typed: not truncated, not case-folded", async () => {
    const password = "Seventy-odd characters: badgers dig under the old oak tree at midnight!";
    expect(password.length).toBeGreaterThan(64);
    const user = await signUpUser(api, { password });
    expect((await signIn(api, user.email, password)).status).toBe(200);
    // bcrypt would stop at 72 bytes; a case-insensitive check would take these too.
    for (const variant of [password.toUpperCase(), password.toLowerCase(), password.slice(0, 64), `${password}?`]) {
      const refused = await signIn(api, user.email, variant);
      expect(refused.status).toBe(401);
      expect((await readProblem(refused)).code).toBe("invalid_credentials");
    }
  });

  test("a password never expires: more than a year later it signs in, and no change is asked for", async () => {
    const user = await signUpUser(api);
    api.clock.advance(400 * 24 * 3600_000);
    const response = await signIn(api, user.email, user.password);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(typeof body.sessionToken).toBe("string");
    expect(JSON.stringify(body)).not.toMatch(/expired|change_password|passwordChange/i);
  });

  test("the service's own name is refused in a password (context-specific words), creating nothing", async () => {
    const response = await api.request("/v1/auth/sign-up", {
      method: "POST",
      json: { email: "context.words@example.com", password: "my BURROW password 1987" },
    });
    expect(response.status).toBe(422);
    const problem = await readProblem(response);
    expect(problem.code).toBe("weak_password");
    expect((problem as unknown as { rule: string }).rule).toBe("context");
    expect(await api.platform.auth.users.findByEmail(api.platform.db, "context.words@example.com")).toBeUndefined();
  });

  test("password fields are masked and can be filled by password managers and pasted", async () => {
    const token = "a".repeat(43);
    const pages = [`/auth/reset-password?token=${token}`, `/auth/account-setup?token=${token}`];
    for (const path of pages) {
      const html = await (await api.request(path)).text();
      const fields = html.match(/<input[^>]*name="(newPassword|password)"[^>]*>/g) ?? [];
      expect(fields.length, path).toBeGreaterThan(0);
      for (const field of fields) {
        expect(field).toContain('type="password"');
        expect(field).toMatch(/autocomplete="(new|current)-password"/);
      }
      // Nothing stops pasting or filling: no handlers, no scripts, no autocomplete="off".
      expect(html).not.toMatch(/onpaste|oncopy|ondrop|<script|autocomplete="off"/i);
    }
  });

  test("no password hints and no secret questions: the API has no such field or operation (V6.4.2)", async () => {
    const document = await (await api.request("/openapi.json")).text();
    expect(document.length).toBeGreaterThan(10_000);
    expect(document).not.toMatch(/password.?hint|secret.?question|security.?question|security.?answer/i);
  });
});

describe("ASVS V6.5: lookup secrets", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  test("recovery codes (under 112 bits) are stored only as Argon2id hashes, each with its own salt (V6.5.2)", async () => {
    const user = await signUpUser(api);
    const { recoveryCodes } = await enrolTotp(api, user);
    expect(recoveryCodes).toHaveLength(10);
    const rows = await api.platform.db.select().from(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, user.id));
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(row.secretHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{16,}\$/);
    const salts = new Set(rows.map((row) => row.secretHash.split("$")[4]));
    expect(salts.size).toBe(10);
    const stored = JSON.stringify(rows);
    for (const code of recoveryCodes) {
      const secretPart = code.replaceAll("-", "").slice(4);
      expect(stored).not.toContain(secretPart);
    }
  });
});

/**
 * A provider small enough to steer: discovery, a JWKS with one key, and a token endpoint whose ID
 * token is signed with `signer` — the published key, or one the provider never published.
 */
async function steerableProvider(clock: () => Date) {
  const published = await generateKeyPair("RS256");
  const unpublished = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(published.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const state = { signer: published.privateKey as CryptoKey, nonce: "", subject: "" };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request): Promise<Response> {
      const issuer: string = `http://127.0.0.1:${server.port}`;
      const path = new URL(request.url).pathname;
      if (path === "/.well-known/openid-configuration")
        return Response.json({
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["RS256"],
          code_challenge_methods_supported: ["S256"],
        });
      if (path === "/jwks") return Response.json({ keys: [jwk] });
      if (path === "/token") {
        const now = Math.floor(clock().getTime() / 1000);
        const idToken = await new SignJWT({
          nonce: state.nonce,
          email: `${state.subject}@example.com`,
          email_verified: true,
        })
          .setProtectedHeader({ alg: "RS256", kid: "k1" })
          .setIssuer(issuer)
          .setAudience("burrow")
          .setSubject(state.subject)
          .setIssuedAt(now)
          .setExpirationTime(now + 300)
          .sign(state.signer);
        return Response.json({
          access_token: "provider-access",
          token_type: "Bearer",
          expires_in: 300,
          id_token: idToken,
        });
      }
      return new Response("", { status: 404 });
    },
  });
  return {
    issuer: `http://127.0.0.1:${server.port}`,
    state,
    keys: { published: published.privateKey, unpublished: unpublished.privateKey },
    stop: () => server.stop(true),
  };
}

describe("ASVS V6.8.2 and V10.4.3: what a provider answers, and an app's code", () => {
  let api: TestApi;
  let provider: Awaited<ReturnType<typeof steerableProvider>>;
  beforeAll(async () => {
    let clock = () => new Date();
    provider = await steerableProvider(() => clock());
    api = await createTestApi({
      BURROW_OAUTH_PROVIDERS: JSON.stringify([
        { id: "steer", type: "oidc", issuer: provider.issuer, clientId: "burrow", clientSecret: "not-a-real-secret" },
      ]),
    });
    clock = () => api.clock.now();
  });
  afterAll(async () => {
    await api.close();
    await provider.stop();
  });

  /** Starts a flow, then comes back to the callback as the provider's redirect would. */
  async function signInThrough(query = ""): Promise<Response> {
    const start = await api.request(`/v1/auth/oauth/steer/start${query}`);
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get("location")!);
    provider.state.nonce = authorize.searchParams.get("nonce")!;
    provider.state.subject = `sub-${crypto.randomUUID().slice(0, 8)}`;
    const binding = start.headers.getSetCookie()[0]!.split(";")[0]!;
    const callback = new URL("/v1/auth/oauth/steer/callback", ORIGIN);
    callback.searchParams.set("code", "provider-code");
    callback.searchParams.set("state", authorize.searchParams.get("state")!);
    callback.searchParams.set("iss", provider.issuer);
    return api.request(`${callback.pathname}${callback.search}`, { headers: { cookie: binding } });
  }
  const countUsers = async () => (await api.platform.db.select({ id: users.id }).from(users)).length;

  test("an ID token signed with a key the provider does not publish is refused, and creates nothing", async () => {
    const before = await countUsers();
    provider.state.signer = provider.keys.unpublished;
    const refused = await signInThrough();
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("oauth_failed");
    expect(refused.headers.getSetCookie().some((line) => line.startsWith("burrow_session="))).toBe(false);
    expect(await countUsers()).toBe(before);
    // The same answer signed with the published key signs in: the refusal was the signature's.
    provider.state.signer = provider.keys.published;
    const accepted = await signInThrough();
    expect(accepted.status).toBeLessThan(400);
    expect(accepted.headers.getSetCookie().some((line) => line.startsWith("burrow_session="))).toBe(true);
    expect(await countUsers()).toBe(before + 1);
  });

  test("an app's one-time code is refused after its minute", async () => {
    provider.state.signer = provider.keys.published;
    const appCode = async () => {
      const verifier = crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
      const challenge = Buffer.from(digest).toString("base64url");
      const redirectTo = encodeURIComponent(`${ORIGIN}/native`);
      const done = await signInThrough(`?redirectTo=${redirectTo}&codeChallenge=${challenge}`);
      expect(done.status).toBe(303);
      return { code: new URL(done.headers.get("location")!).searchParams.get("code")!, verifier };
    };
    const exchange = (json: unknown) =>
      api.request("/v1/auth/oauth/exchange", { method: "POST", headers: BEARER_CLIENT, json });
    const late = await appCode();
    api.clock.advance(60_000 + 1);
    const refused = await exchange({ code: late.code, codeVerifier: late.verifier });
    expect(refused.status).toBe(400);
    expect((await readProblem(refused)).code).toBe("invalid_oauth_state");
    // Within its minute the same kind of code works.
    const timely = await appCode();
    api.clock.advance(59_000);
    expect((await exchange({ code: timely.code, codeVerifier: timely.verifier })).status).toBe(200);
  });
});

describe("ASVS V10.4.4: the password grant can be turned off", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi({ BURROW_PASSWORD_GRANT: "off" });
  });
  afterAll(() => api.close());

  test("BURROW_PASSWORD_GRANT=off refuses the password grant before the password is checked; the session grant stays", async () => {
    const user = await signUpUser(api);
    for (const password of [user.password, "not the password at all", "still not the password", "a", "b", "c"]) {
      const refused = await api.request("/v1/auth/token", {
        method: "POST",
        json: { grantType: "password", email: user.email, password },
      });
      expect(refused.status).toBe(400);
      const problem = await readProblem(refused);
      expect(problem.code).toBe("validation_failed");
      expect(problem.errors?.[0]?.path).toBe("grantType");
    }
    // Nothing was counted against the address: six refusals locked nothing, and no token was issued.
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
    const issued = await api.platform.db.select().from(auditLogs).where(eq(auditLogs.action, "token.issued"));
    expect(issued).toEqual([]);
    const session = await api.request("/v1/auth/token", {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}` },
      json: { grantType: "session" },
    });
    expect(session.status).toBe(200);
    expect(typeof ((await session.json()) as { accessToken: string }).accessToken).toBe("string");
  });

  test("the setting takes on or off, and names itself otherwise", () => {
    expect(loadConfig({ ...TEST_ENV, BURROW_DATA_DIR: "/nonexistent" }).tokens.passwordGrant).toBe(true);
    expect(() => loadConfig({ ...TEST_ENV, BURROW_DATA_DIR: "/nonexistent", BURROW_PASSWORD_GRANT: "no" })).toThrow(
      /BURROW_PASSWORD_GRANT/,
    );
  });
});

describe("ASVS V7.2.4: a sign-in ends the session the client held", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  const sessionOf = (token: string) =>
    api.request("/v1/auth/session", { headers: { authorization: `Bearer ${token}` } });

  test("signing in again, by cookie or by session token, ends the old session; the new one works", async () => {
    const user = await signUpUser(api);
    const byCookie = await api.request("/v1/auth/sign-in", {
      method: "POST",
      headers: { cookie: `burrow_session=${user.token}`, origin: ORIGIN },
      json: { email: user.email, password: user.password },
    });
    expect(byCookie.status).toBe(200);
    const cookieSession = /burrow_session=([^;]+)/.exec(byCookie.headers.getSetCookie().join("\n"))![1]!;
    expect(cookieSession).not.toBe(user.token);
    expect((await sessionOf(user.token)).status).toBe(401);
    expect((await sessionOf(cookieSession)).status).toBe(200);

    const byHeader = await signIn(api, user.email, user.password, {
      headers: { authorization: `Bearer ${cookieSession}` },
    });
    expect(byHeader.status).toBe(200);
    const { sessionToken } = (await byHeader.json()) as { sessionToken: string };
    expect((await sessionOf(cookieSession)).status).toBe(401);
    expect((await sessionOf(sessionToken)).status).toBe(200);
  });

  test("a step-up keeps the session, and a forged cookie naming someone's session ends nothing", async () => {
    const user = await signUpUser(api);
    const stepUp = await api.request("/v1/auth/reauthenticate", {
      method: "POST",
      headers: user.bearer,
      json: { password: user.password },
    });
    expect(stepUp.status).toBe(200);
    const renewed = ((await stepUp.json()) as { sessionToken: string }).sessionToken;
    expect(renewed.split(".")[0]).toBe(user.token.split(".")[0]);
    expect((await sessionOf(renewed)).status).toBe(200);

    // Another person signs in with a cookie that names this user's session id but not its secret.
    const other = await signUpUser(api);
    const forged = `${renewed.split(".")[0]}.${"A".repeat(43)}`;
    const signedIn = await api.request("/v1/auth/sign-in", {
      method: "POST",
      headers: { cookie: `burrow_session=${forged}`, origin: ORIGIN },
      json: { email: other.email, password: other.password },
    });
    expect(signedIn.status).toBe(200);
    expect((await sessionOf(renewed)).status).toBe(200);
  });
});
