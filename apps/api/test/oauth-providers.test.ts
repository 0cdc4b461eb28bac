import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import { oauthProviders } from "@burrow/platform-auth/schema";
import {
  createTestApi,
  grantPlatformPermissions,
  ORIGIN,
  readProblem,
  signUpUser,
  reauthenticate,
  type TestApi,
  type TestUser,
} from "./helpers.ts";
import { Browser, startIdentityProvider, type TestIdentityProvider } from "./oidc.ts";

// Providers added at run time by operators: /v1/admin/oauth-providers, with a real OpenID provider
// in this process that the added provider points at.
let api: TestApi;
let idp: TestIdentityProvider;
let manager: TestUser;
let reader: TestUser;

const CONFIG_SECRET = "configured-secret-never-shown";

beforeAll(async () => {
  idp = await startIdentityProvider({
    redirectUris: [`${ORIGIN}/v1/auth/oauth/runtime/callback`, `${ORIGIN}/v1/auth/oauth/later/callback`],
  });
  api = await createTestApi({
    BURROW_OAUTH_PROVIDERS: JSON.stringify([
      { id: "configured", type: "oidc", issuer: idp.issuer, clientId: "from-env", clientSecret: CONFIG_SECRET },
    ]),
  });
  // The provider stamps its tokens with real time; Burrow's checks use the test clock, from now.
  api.clock.set(new Date());
  manager = await signUpUser(api);
  await grantPlatformPermissions(api, manager.id, ["settings:read", "oauth_providers:manage"]);
  reader = await signUpUser(api);
  await grantPlatformPermissions(api, reader.id, ["settings:read"]);
});

afterAll(async () => {
  await api.close();
  await idp.close();
});

const send = (user: TestUser, method: string, path: string, json?: unknown) =>
  api.request(path, { method, headers: user.bearer, ...(json === undefined ? {} : { json }) });

const configuredEntries = async () =>
  api.platform.db.select().from(auditLogs).where(eq(auditLogs.action, "oauth.provider_configured"));
/** The entry the request answered by `response` wrote (rows come back in no promised order). */
const configuredBy = async (response: Response) =>
  (await configuredEntries()).find((entry) => entry.requestId === response.headers.get("x-request-id"));
const storedRows = async () => api.platform.db.select().from(oauthProviders);

/** Signs a new browser in through the provider; the session token, or the refusal page's code. */
async function signInThrough(
  provider: string,
): Promise<{ session: string | undefined; status: number; code?: string }> {
  const subject = `sub-${crypto.randomUUID().slice(0, 8)}`;
  idp.accounts.set(subject, { email: `${subject}@example.com`, email_verified: true, name: "Run Time" });
  idp.nextLogin = subject;
  const browser = new Browser(api, ORIGIN);
  const { response } = await browser.navigate(`${ORIGIN}/v1/auth/oauth/${provider}/start`, {
    stopAt: (url) => url.origin === ORIGIN && !url.pathname.startsWith("/v1/auth/oauth/"),
  });
  const text = await response.text();
  const code = /Error code: <code>([a-z_]+)<\/code>/.exec(text)?.[1];
  return { session: browser.cookie(ORIGIN, "burrow_session"), status: response.status, ...(code ? { code } : {}) };
}

const runtimeInput = () => ({
  id: "runtime",
  type: "oidc",
  issuer: idp.issuer,
  clientId: idp.clientId,
  clientSecret: idp.clientSecret,
  scopes: ["offline_access"],
  trustEmail: true,
});

describe("run-time social sign-in providers", () => {
  test("an operator adds one; it is listed without its secret, stored encrypted, audited, and signs people in", async () => {
    // Before: the provider does not exist.
    expect((await api.request("/v1/auth/oauth/runtime/start")).status).toBe(404);

    const created = await send(manager, "POST", "/v1/admin/oauth-providers", runtimeInput());
    expect(created.status).toBe(201);
    const text = await created.text();
    expect(text).not.toContain(idp.clientSecret);
    expect(JSON.parse(text)).toMatchObject({
      id: "runtime",
      type: "oidc",
      issuer: idp.issuer,
      clientId: idp.clientId,
      scopes: ["offline_access"],
      trustEmail: true,
      enabled: true,
      source: "database",
    });
    const [row] = (await storedRows()).filter((entry) => entry.id === "runtime");
    expect(row!.clientSecretEncrypted).toMatch(/^v1\./);
    expect(row!.clientSecretEncrypted).not.toContain(idp.clientSecret);

    const [entry] = await configuredEntries();
    expect(entry).toMatchObject({ actorId: manager.id, targetType: "oauth_provider", targetId: "runtime" });
    expect(entry!.metadata).toMatchObject({ provider: "runtime", change: "created" });
    expect(JSON.stringify(entry)).not.toContain(idp.clientSecret);

    // Listed beside the configured one, for a reader too; no secret anywhere.
    const listed = await send(reader, "GET", "/v1/admin/oauth-providers");
    expect(listed.status).toBe(200);
    const listText = await listed.text();
    expect(listText).not.toContain(idp.clientSecret);
    expect(listText).not.toContain(CONFIG_SECRET);
    const { data } = JSON.parse(listText) as { data: { id: string; source: string; enabled: boolean }[] };
    expect(data.map((provider) => [provider.id, provider.source, provider.enabled])).toEqual([
      ["configured", "config", true],
      ["runtime", "database", true],
    ]);

    // The sign-in flow uses it: the start goes to its issuer, and the whole flow signs in.
    const start = await api.request("/v1/auth/oauth/runtime/start");
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get("location")!);
    expect(location.origin).toBe(idp.issuer);
    expect(location.searchParams.get("client_id")).toBe(idp.clientId);
    expect(location.searchParams.get("scope")).toBe("openid email profile offline_access");
    const signedIn = await signInThrough("runtime");
    expect(signedIn.status).toBe(200);
    expect(signedIn.session).toBeDefined();
  });

  test("disabling stops new sign-ins and enabling restarts them; a new secret replaces the stored one", async () => {
    const disabled = await send(manager, "PATCH", "/v1/admin/oauth-providers/runtime", { enabled: false });
    expect(disabled.status).toBe(200);
    expect(((await disabled.json()) as { enabled: boolean }).enabled).toBe(false);
    const refused = await api.request("/v1/auth/oauth/runtime/start");
    expect(refused.status).toBe(404);
    expect((await readProblem(refused)).code).toBe("not_found");
    expect((await configuredBy(disabled))!.metadata).toMatchObject({ change: "disabled", fields: ["enabled"] });

    // A wrong secret: the provider refuses the code's exchange, so the sign-in fails.
    const wrong = await send(manager, "PATCH", "/v1/admin/oauth-providers/runtime", {
      enabled: true,
      clientSecret: "not-the-secret",
    });
    expect(wrong.status).toBe(200);
    expect(await wrong.text()).not.toContain("not-the-secret");
    expect((await configuredBy(wrong))!.metadata).toMatchObject({
      change: "updated",
      fields: ["enabled", "clientSecret"],
    });
    expect(JSON.stringify(await configuredBy(wrong))).not.toContain("not-the-secret");
    const failed = await signInThrough("runtime");
    expect(failed).toEqual({ session: undefined, status: 400, code: "oauth_failed" });

    // The right one again: signed in.
    const right = await send(manager, "PATCH", "/v1/admin/oauth-providers/runtime", { clientSecret: idp.clientSecret });
    expect(right.status).toBe(200);
    expect((await signInThrough("runtime")).session).toBeDefined();

    // A change that changes nothing writes no audit entry.
    const before = (await configuredEntries()).length;
    expect((await send(manager, "PATCH", "/v1/admin/oauth-providers/runtime", { trustEmail: true })).status).toBe(200);
    expect((await configuredEntries()).length).toBe(before);
  });

  test("test runs discovery now: ok for a live issuer, the failed check otherwise", async () => {
    const ok = await send(manager, "POST", "/v1/admin/oauth-providers/runtime/test");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      ok: true,
      issuer: idp.issuer,
      authorizationEndpoint: `${idp.issuer}/auth`,
    });
    // A configured provider can be tested too.
    expect(
      ((await (await send(manager, "POST", "/v1/admin/oauth-providers/configured/test")).json()) as { ok: boolean }).ok,
    ).toBe(true);

    // An issuer nobody answers at (a closed loopback port): reported, not thrown.
    const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
    const deadIssuer = `http://127.0.0.1:${closed.port}`;
    await closed.stop(true);
    const added = await send(manager, "POST", "/v1/admin/oauth-providers", {
      id: "later",
      type: "oidc",
      issuer: deadIssuer,
      clientId: "x",
      clientSecret: "y",
    });
    expect(added.status).toBe(201);
    const failed = await send(manager, "POST", "/v1/admin/oauth-providers/later/test");
    expect(failed.status).toBe(200);
    const body = (await failed.json()) as { ok: boolean; issuer: string; error: string; detail: string };
    expect(body.ok).toBe(false);
    expect(body.issuer).toBe(deadIssuer);
    expect(body.error.length).toBeGreaterThan(0);

    // An issuer that redirects its discovery document elsewhere: not followed.
    let followed = 0;
    const elsewhere = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => {
        followed += 1;
        return new Response("");
      },
    });
    const redirecting = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () => Response.redirect(`http://127.0.0.1:${elsewhere.port}/.well-known/openid-configuration`, 302),
    });
    try {
      const patched = await send(manager, "PATCH", "/v1/admin/oauth-providers/later", {
        issuer: `http://127.0.0.1:${redirecting.port}`,
      });
      expect(patched.status).toBe(200);
      const redirected = await send(manager, "POST", "/v1/admin/oauth-providers/later/test");
      expect(await redirected.json()).toMatchObject({
        ok: false,
        error: "OAUTH_RESPONSE_IS_NOT_CONFORM",
        detail: "unexpected HTTP response status code",
      });
      expect(followed).toBe(0);
    } finally {
      await redirecting.stop(true);
      await elsewhere.stop(true);
    }

    const unknown = await send(manager, "POST", "/v1/admin/oauth-providers/nobody/test");
    expect(unknown.status).toBe(404);
  });

  test("every bad input is a 4xx problem and changes nothing", async () => {
    const rowsBefore = JSON.stringify(await storedRows());
    const entriesBefore = (await configuredEntries()).length;
    const cases: [string, string, unknown, number, string][] = [
      ["POST", "/v1/admin/oauth-providers", { ...runtimeInput(), id: "Bad Id" }, 400, "validation_failed"],
      [
        "POST",
        "/v1/admin/oauth-providers",
        { ...runtimeInput(), id: "new", issuer: "http://idp.example" },
        400,
        "validation_failed",
      ],
      [
        "POST",
        "/v1/admin/oauth-providers",
        { ...runtimeInput(), id: "new", issuer: "ftp://127.0.0.1" },
        400,
        "validation_failed",
      ],
      ["POST", "/v1/admin/oauth-providers", { ...runtimeInput(), id: "new", issuer: null }, 400, "validation_failed"],
      ["POST", "/v1/admin/oauth-providers", { ...runtimeInput(), id: "new", type: "saml" }, 400, "validation_failed"],
      [
        "POST",
        "/v1/admin/oauth-providers",
        { ...runtimeInput(), id: "new", clientSecret: "" },
        400,
        "validation_failed",
      ],
      [
        "POST",
        "/v1/admin/oauth-providers",
        { ...runtimeInput(), id: "new", scopes: ['a"b'] },
        400,
        "validation_failed",
      ],
      ["POST", "/v1/admin/oauth-providers", { ...runtimeInput(), id: "new", extra: 1 }, 400, "validation_failed"],
      ["POST", "/v1/admin/oauth-providers", runtimeInput(), 409, "conflict"],
      ["POST", "/v1/admin/oauth-providers", { ...runtimeInput(), id: "configured" }, 409, "conflict"],
      ["PATCH", "/v1/admin/oauth-providers/runtime", {}, 400, "validation_failed"],
      ["PATCH", "/v1/admin/oauth-providers/runtime", { issuer: "http://idp.example" }, 400, "validation_failed"],
      ["PATCH", "/v1/admin/oauth-providers/runtime", { issuer: null }, 400, "validation_failed"],
      ["PATCH", "/v1/admin/oauth-providers/configured", { enabled: false }, 404, "not_found"],
      ["PATCH", "/v1/admin/oauth-providers/nobody", { enabled: false }, 404, "not_found"],
      ["PATCH", "/v1/admin/oauth-providers/NO", { enabled: false }, 400, "invalid_id"],
    ];
    for (const [method, path, json, status, code] of cases) {
      const response = await send(manager, method, path, json);
      expect([method, path, JSON.stringify(json), response.status]).toEqual([
        method,
        path,
        JSON.stringify(json),
        status,
      ]);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      expect((await readProblem(response)).code).toBe(code);
    }
    expect(JSON.stringify(await storedRows())).toBe(rowsBefore);
    expect((await configuredEntries()).length).toBe(entriesBefore);
  });

  test("reading needs settings:read, changing and testing oauth_providers:manage", async () => {
    const nobody = await signUpUser(api);
    expect((await send(nobody, "GET", "/v1/admin/oauth-providers")).status).toBe(403);
    const rowsBefore = JSON.stringify(await storedRows());
    for (const [method, path, json] of [
      ["POST", "/v1/admin/oauth-providers", { ...runtimeInput(), id: "sneaky" }],
      ["PATCH", "/v1/admin/oauth-providers/runtime", { enabled: false }],
      ["POST", "/v1/admin/oauth-providers/runtime/test", undefined],
    ] as const) {
      const response = await send(reader, method, path, json);
      expect(response.status).toBe(403);
      expect((await readProblem(response)).code).toBe("forbidden");
    }
    expect(JSON.stringify(await storedRows())).toBe(rowsBefore);
    expect((await api.request("/v1/admin/oauth-providers")).status).toBe(401);
  });

  test("a session's operator adds or changes only after a recent authentication; disabling alone needs none", async () => {
    api.clock.advance(11 * 60_000);
    const rowsBefore = JSON.stringify(await storedRows());
    for (const [method, path, json] of [
      ["POST", "/v1/admin/oauth-providers", { ...runtimeInput(), id: "late" }],
      ["PATCH", "/v1/admin/oauth-providers/runtime", { clientSecret: "late-secret" }],
      ["PATCH", "/v1/admin/oauth-providers/runtime", { enabled: true, trustEmail: false }],
    ] as const) {
      const response = await send(manager, method, path, json);
      expect(response.status).toBe(403);
      expect((await readProblem(response)).code).toBe("reauthentication_required");
    }
    expect(JSON.stringify(await storedRows())).toBe(rowsBefore);
    const disabled = await send(manager, "PATCH", "/v1/admin/oauth-providers/runtime", { enabled: false });
    expect(disabled.status).toBe(200);
    expect((await reauthenticate(api, manager)).status).toBe(200);
    const enabled = await send(manager, "PATCH", "/v1/admin/oauth-providers/runtime", { enabled: true });
    expect(enabled.status).toBe(200);
    expect(((await enabled.json()) as { enabled: boolean }).enabled).toBe(true);
  });
});
