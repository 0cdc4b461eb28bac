import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, desc, eq } from "drizzle-orm";
import type { UserId } from "@burrow/platform-core";
import { authSessions, mfaFactors } from "@burrow/platform-auth/schema";
import { createAdminApp } from "../src/app.tsx";
import { ADMIN, Browser } from "./console.ts";
import { createAuthenticator, type SoftwareAuthenticator } from "../../api/test/authenticator.ts";
import { grantPlatformPermissions, signUpUser, type TestApi, type TestUser } from "../../api/test/helpers.ts";
import { createTestConsole } from "./console.ts";

/** The passkey form's options as the page carries them (an HTML attribute holding JSON). */
function offeredOptions(html: string): { ceremonyId: string; options: never } {
  const attribute = /data-options="([^"]*)"/.exec(html)?.[1];
  if (attribute === undefined) throw new Error("the page offers no passkey");
  const json = attribute.replace(/&(quot|amp|lt|gt|#39);/g, (_, entity: string) =>
    entity === "quot" ? '"' : entity === "amp" ? "&" : entity === "lt" ? "<" : entity === "gt" ? ">" : "'",
  );
  const ceremonyId = /name="ceremonyId" value="([^"]+)"/.exec(html)?.[1] ?? "";
  return { ceremonyId, options: JSON.parse(json) as never };
}

describe("the admin console with a passkey as the operator's second factor", () => {
  let api: TestApi;
  let admin: ReturnType<typeof createAdminApp>;
  let operator: TestUser;
  let authenticator: SoftwareAuthenticator;

  beforeAll(async () => {
    ({ api, admin } = await createTestConsole());
    operator = await signUpUser(api, { name: "Pat Passkey" });
    await grantPlatformPermissions(api, operator.id, ["users:read", "users:manage"]);
    // The console's own origin answers the ceremonies (ADMIN_URL is one of the WebAuthn origins).
    expect(api.config.webauthn.origins).toContain(ADMIN);
    authenticator = createAuthenticator({ origin: ADMIN, rpId: api.config.webauthn.rpId });
  });
  afterAll(() => api.close());

  const signInWithPassword = async (user: TestUser = operator) => {
    const browser = new Browser(admin);
    await browser.get("/sign-in");
    const first = await browser.post("/sign-in", { email: user.email, password: user.password });
    return { browser, first };
  };

  test("the enrolment walk-through offers a passkey beside TOTP; adding one opens the console", async () => {
    const { browser, first } = await signInWithPassword();
    expect(first.headers.get("location")).toBe("/enrol-mfa");
    const page = await browser.get("/enrol-mfa");
    // Only this page may run the console's own script: no inline script, still never framed.
    const policy = page.headers.get("content-security-policy")!;
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain("unsafe-inline");
    expect(policy).toContain("frame-ancestors 'none'");
    // The ceremony requests nothing itself: its answer posts as a form.
    expect(policy).not.toContain("connect-src");
    expect(browser.lastHtml).toContain('<script type="module" src="/assets/passkey.js"></script>');
    expect(browser.lastHtml).toContain('action="/enrol-passkey"');
    expect(browser.lastHtml).toContain('action="/enrol-mfa"');

    // An answer that is not WebAuthn's changes nothing: back to the walk-through, saying so.
    const { ceremonyId, options } = offeredOptions(browser.lastHtml);
    const garbage = await browser.post("/enrol-passkey", { ceremonyId, response: "{not json" });
    expect(garbage.headers.get("location")).toBe("/enrol-mfa?error=passkey");
    await browser.get("/enrol-mfa?error=passkey");
    expect(browser.lastHtml).toContain("The passkey could not be added.");
    const passkeys = () =>
      api.platform.db
        .select()
        .from(mfaFactors)
        .where(and(eq(mfaFactors.userId, operator.id), eq(mfaFactors.type, "passkey")));
    expect(await passkeys()).toEqual([]);
    expect((await browser.get("/users")).headers.get("location")).toBe("/enrol-mfa");

    // The ceremony of an earlier page still answers once.
    const response = authenticator.register(options);
    const added = await browser.post("/enrol-passkey", { ceremonyId, response: JSON.stringify(response) });
    expect(added.status).toBe(200);
    expect(browser.lastHtml).toContain("Two-step verification is on");
    expect(browser.lastHtml.match(/<li>/g)?.length).toBeGreaterThanOrEqual(8);
    expect(await passkeys()).toHaveLength(1);
    expect((await browser.get("/users")).status).toBe(200);
  });

  test("signs in with the passkey at the second step, through the one completion; a bad answer is refused and changes nothing", async () => {
    const { browser, first } = await signInWithPassword();
    expect(first.status).toBe(200);
    expect(first.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(browser.lastHtml).toContain('action="/sign-in/passkey"');
    const mfaToken = browser.field("mfaToken");
    const offer = offeredOptions(browser.lastHtml);

    const sessionsBefore = (
      await api.platform.db.select().from(authSessions).where(eq(authSessions.userId, operator.id))
    ).length;
    for (const response of ["", "[]", JSON.stringify({ id: "nothing", type: "public-key" })]) {
      const refused = await browser.post("/sign-in/passkey", { mfaToken, ceremonyId: offer.ceremonyId, response });
      expect(refused.status).toBe(400);
      expect(browser.lastHtml).toContain("The passkey was not accepted.");
      expect(browser.cookies.has("burrow_admin")).toBe(false);
    }
    expect((await api.platform.db.select().from(authSessions).where(eq(authSessions.userId, operator.id))).length).toBe(
      sessionsBefore,
    );

    // The refusal above used up its ceremony; the page it drew offers a new one on the same challenge.
    const again = offeredOptions(browser.lastHtml);
    expect(again.ceremonyId).not.toBe(offer.ceremonyId);
    const answer = authenticator.authenticate(again.options);
    const signedIn = await browser.post("/sign-in/passkey", {
      mfaToken,
      ceremonyId: again.ceremonyId,
      response: JSON.stringify(answer),
    });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("location")).toBe("/");
    expect((await browser.get("/")).status).toBe(200);
    // The console session records both methods, as the completion writes them.
    const [session] = await api.platform.db
      .select()
      .from(authSessions)
      .where(and(eq(authSessions.userId, operator.id), eq(authSessions.audience, "admin")))
      .orderBy(desc(authSessions.createdAt), desc(authSessions.id))
      .limit(1);
    expect(session?.authMethods).toEqual(["password", "passkey"]);

    // The same answer again (a replay) gets nothing: the challenge was used.
    const replay = new Browser(admin);
    await replay.get("/sign-in");
    const replayed = await replay.post("/sign-in/passkey", {
      mfaToken,
      ceremonyId: again.ceremonyId,
      response: JSON.stringify(answer),
    });
    expect(replayed.status).toBe(401);
    expect(replay.cookies.has("burrow_admin")).toBe(false);
  });

  test("a suspended operator's passkey ends in the completion's status check: no session", async () => {
    const other = await signUpUser(api);
    await grantPlatformPermissions(api, other.id, ["users:read"]);
    const key = createAuthenticator({ origin: ADMIN, rpId: api.config.webauthn.rpId });
    const { browser } = await signInWithPassword(other);
    await browser.get("/enrol-mfa");
    const offer = offeredOptions(browser.lastHtml);
    await browser.post("/enrol-passkey", {
      ceremonyId: offer.ceremonyId,
      response: JSON.stringify(key.register(offer.options)),
    });
    const second = await signInWithPassword(other);
    const mfaToken = second.browser.field("mfaToken");
    const options = offeredOptions(second.browser.lastHtml);
    await api.platform.userAdministration.suspend(operator.id, other.id as UserId, {});
    const refused = await second.browser.post("/sign-in/passkey", {
      mfaToken,
      ceremonyId: options.ceremonyId,
      response: JSON.stringify(key.authenticate(options.options)),
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(second.browser.cookies.has("burrow_admin")).toBe(false);
  });

  test("a step-up is confirmed with the passkey too", async () => {
    const { browser } = await signInWithPassword();
    const offer = offeredOptions(browser.lastHtml);
    await browser.post("/sign-in/passkey", {
      mfaToken: browser.field("mfaToken"),
      ceremonyId: offer.ceremonyId,
      response: JSON.stringify(authenticator.authenticate(offer.options)),
    });
    const target = await signUpUser(api);
    api.clock.advance(11 * 60_000);
    await browser.get(`/users/${target.id}`);
    const asked = await browser.post(`/users/${target.id}/revoke-sessions`, {});
    const back = `/users/${target.id}`;
    expect(asked.headers.get("location")).toBe(`/reauthenticate?next=${encodeURIComponent(back)}`);
    const page = await browser.get(asked.headers.get("location")!);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(browser.lastHtml).toContain('action="/reauthenticate/passkey"');
    const stepUp = offeredOptions(browser.lastHtml);
    const wrong = await browser.post("/reauthenticate/passkey", {
      next: back,
      ceremonyId: stepUp.ceremonyId,
      response: "{}",
    });
    expect(wrong.status).toBe(401);
    expect(browser.lastHtml).toContain('role="alert"');
    expect((await browser.post(`/users/${target.id}/revoke-sessions`, {})).headers.get("location")).toStartWith(
      "/reauthenticate",
    );
    await browser.get(`/reauthenticate?next=${encodeURIComponent(back)}`);
    const fresh = offeredOptions(browser.lastHtml);
    const confirmed = await browser.post("/reauthenticate/passkey", {
      next: back,
      ceremonyId: fresh.ceremonyId,
      response: JSON.stringify(authenticator.authenticate(fresh.options)),
    });
    expect(confirmed.headers.get("location")).toBe(`${back}?done=reauthenticated`);
    const done = await browser.post(`/users/${target.id}/revoke-sessions`, {});
    expect(done.headers.get("location")).toBe(`${back}?done=sessions-revoked`);
  });

  test("the script is bundled from the console's own source and served by it; pages without a passkey load none", async () => {
    const browser = new Browser(admin);
    const script = await browser.get("/assets/passkey.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toStartWith("text/javascript");
    const body = await script.text();
    expect(body).toContain("navigator.credentials");
    expect(body).toContain("data-passkey");
    const signIn = await browser.get("/sign-in");
    expect(signIn.headers.get("content-security-policy")).not.toContain("script-src");
    expect(browser.lastHtml).not.toContain("<script");

    // An operator with TOTP alone sees the code form and no script.
    const { operatorWith } = await import("./console.ts");
    const { user } = await operatorWith(api, ["users:read"]);
    const { browser: totpBrowser, first } = await signInWithPassword(user);
    expect(first.headers.get("content-security-policy")).not.toContain("script-src");
    expect(totpBrowser.lastHtml).not.toContain("<script");
    expect(totpBrowser.lastHtml).not.toContain("data-passkey");
  });
});
