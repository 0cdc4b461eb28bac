import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { oauthProviders } from "@burrow/platform-auth/schema";
import { auditLogs } from "@burrow/platform-core/schema";
import type { createAdminApp } from "../src/app.tsx";
import { createTestConsole, operatorWith, signInWithCode } from "./console.ts";
import { ORIGIN, type TestApi, type TestUser } from "../../api/test/helpers.ts";
import { startIdentityProvider, type TestIdentityProvider } from "../../api/test/oidc.ts";

describe("the admin console's social sign-in providers", () => {
  let api: TestApi;
  let admin: ReturnType<typeof createAdminApp>;
  let idp: TestIdentityProvider;
  let manager: { user: TestUser; secret: string };
  let reader: { user: TestUser; secret: string };
  const CONFIG_SECRET = "configured-secret-never-shown";

  beforeAll(async () => {
    idp = await startIdentityProvider({ redirectUris: [`${ORIGIN}/v1/auth/oauth/acme/callback`] });
    ({ api, admin } = await createTestConsole({
      BURROW_OAUTH_PROVIDERS: JSON.stringify([
        { id: "configured", type: "oidc", issuer: idp.issuer, clientId: "from-env", clientSecret: CONFIG_SECRET },
      ]),
    }));
    manager = await operatorWith(api, ["settings:read", "oauth_providers:manage"]);
    reader = await operatorWith(api, ["settings:read"]);
  });
  afterAll(async () => {
    await api.close();
    await idp.close();
  });

  const stored = async (id: string) =>
    (await api.platform.db.select().from(oauthProviders).where(eq(oauthProviders.id, id)))[0];
  /** The entry the request answered by `response` wrote (rows come back in no promised order). */
  const entryBy = async (response: Response) =>
    (await api.platform.db.select().from(auditLogs).where(eq(auditLogs.action, "oauth.provider_configured"))).find(
      (entry) => entry.requestId === response.headers.get("x-request-id"),
    );

  test("a reader sees the configured providers, marked, with no forms; posting anyway is refused", async () => {
    const browser = await signInWithCode(api, admin, reader.user, reader.secret);
    await browser.get("/settings");
    expect(browser.lastHtml).toContain("<code>configured</code>");
    expect(browser.lastHtml).toContain("from configuration");
    expect(browser.lastHtml).not.toContain(CONFIG_SECRET);
    expect(browser.lastHtml).not.toContain('action="/settings/oauth-providers"');
    expect(browser.lastHtml).not.toContain("/test");
    const refused = await browser.post("/settings/oauth-providers", {
      id: "sneaky",
      type: "oidc",
      issuer: idp.issuer,
      clientId: "x",
      clientSecret: "y",
    });
    expect(refused.status).toBe(403);
    expect(await stored("sneaky")).toBeUndefined();
  });

  test("an operator adds, edits, tests, disables and enables a provider; its secret is never shown", async () => {
    const browser = await signInWithCode(api, admin, manager.user, manager.secret);
    await browser.get("/settings");
    expect(browser.lastHtml).toMatch(
      /<form class="card narrow" method="post" action="\/settings\/oauth-providers"><input type="hidden" name="_csrf"/,
    );

    // A cross-site form and one without the token change nothing.
    const fields = {
      id: "acme",
      type: "oidc",
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
    };
    expect((await browser.post("/settings/oauth-providers", fields, { origin: "https://evil.example" })).status).toBe(
      403,
    );
    expect((await browser.post("/settings/oauth-providers", { ...fields, _csrf: "forged" })).status).toBe(403);
    expect(await stored("acme")).toBeUndefined();

    // A bad issuer: the form again with the problem, the secret not put back into it.
    const bad = await browser.post("/settings/oauth-providers", { ...fields, issuer: "http://idp.example" });
    expect(bad.status).toBe(400);
    expect(browser.lastHtml).toContain("issuer: An https:// URL");
    expect(browser.lastHtml).not.toContain(idp.clientSecret);
    expect(await stored("acme")).toBeUndefined();

    const added = await browser.post("/settings/oauth-providers", { ...fields, scopes: "groups", trustEmail: "yes" });
    expect(added.status).toBe(303);
    expect(added.headers.get("location")).toBe("/settings?done=provider-added");
    await browser.get("/settings?done=provider-added");
    expect(browser.lastHtml).toContain("<code>acme</code>");
    expect(browser.lastHtml).toContain("enabled");
    expect(browser.lastHtml).not.toContain(idp.clientSecret);
    expect(await stored("acme")).toMatchObject({ scopes: ["groups"], trustEmail: true, enabled: true });
    expect(await entryBy(added)).toMatchObject({ actorId: manager.user.id, targetId: "acme" });
    // The sign-in starts at it.
    const start = await api.request("/v1/auth/oauth/acme/start");
    expect(start.status).toBe(302);
    expect(new URL(start.headers.get("location")!).origin).toBe(idp.issuer);

    // The edit page: the secret field is empty; saved empty, the stored secret stays.
    await browser.get("/settings/oauth-providers/acme");
    expect(browser.lastHtml).toContain(
      'name="clientSecret" type="password" autocomplete="off" maxlength="2000" value=""',
    );
    expect(browser.lastHtml).not.toContain(idp.clientSecret);
    const sealed = (await stored("acme"))!.clientSecretEncrypted;
    const saved = await browser.post("/settings/oauth-providers/acme", {
      type: "oidc",
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: "",
      scopes: "",
    });
    expect(saved.headers.get("location")).toBe("/settings?done=provider-saved");
    expect(await stored("acme")).toMatchObject({ clientSecretEncrypted: sealed, scopes: [], trustEmail: false });
    expect((await entryBy(saved))!.metadata).toMatchObject({ change: "updated", fields: ["trustEmail", "scopes"] });
    // A new secret replaces it.
    await browser.get("/settings/oauth-providers/acme");
    await browser.post("/settings/oauth-providers/acme", {
      type: "oidc",
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: "rotated-at-the-provider",
    });
    const resealed = (await stored("acme"))!.clientSecretEncrypted;
    expect(resealed).not.toBe(sealed);
    expect(api.platform.keyRing.decrypt(resealed, "oauth-provider:acme")).toBe("rotated-at-the-provider");

    // Test: discovery against its issuer, shown on the page.
    await browser.get("/settings");
    const tested = await browser.post("/settings/oauth-providers/acme/test", {});
    expect(tested.status).toBe(200);
    expect(browser.lastHtml).toContain("Discovery for <code>acme</code> works");

    // Disable: the start answers 404; enable: it works again.
    const disabled = await browser.post("/settings/oauth-providers/acme/disable", {});
    expect(disabled.headers.get("location")).toBe("/settings?done=provider-disabled");
    expect((await api.request("/v1/auth/oauth/acme/start")).status).toBe(404);
    await browser.get("/settings?done=provider-disabled");
    expect(browser.lastHtml).toContain('action="/settings/oauth-providers/acme/enable"');
    await browser.post("/settings/oauth-providers/acme/enable", {});
    expect((await api.request("/v1/auth/oauth/acme/start")).status).toBe(302);

    // Later than 10 minutes after signing in: adding or editing asks for a step-up first; disabling does not.
    api.clock.advance(11 * 60_000);
    await browser.get("/settings");
    const late = await browser.post("/settings/oauth-providers", { ...fields, id: "late" });
    expect(late.status).toBe(303);
    expect(late.headers.get("location")).toBe("/reauthenticate?next=%2Fsettings");
    expect(await stored("late")).toBeUndefined();
    await browser.get("/settings/oauth-providers/acme");
    const lateEdit = await browser.post("/settings/oauth-providers/acme", { ...fields, clientSecret: "late" });
    expect(lateEdit.headers.get("location")).toBe("/reauthenticate?next=%2Fsettings%2Foauth-providers%2Facme");
    expect((await stored("acme"))!.clientSecretEncrypted).toBe(resealed);
    await browser.get("/settings");
    const off = await browser.post("/settings/oauth-providers/acme/disable", {});
    expect(off.headers.get("location")).toBe("/settings?done=provider-disabled");
    const on = await browser.post("/settings/oauth-providers/acme/enable", {});
    expect(on.headers.get("location")).toBe("/reauthenticate?next=%2Fsettings");
    expect(await stored("acme")).toMatchObject({ enabled: false });

    // A configured provider has no edit page, and unknown ones are 404 pages.
    expect((await browser.get("/settings/oauth-providers/configured")).status).toBe(404);
    expect((await browser.get("/settings/oauth-providers/nobody")).status).toBe(404);
  });
});
