import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { UserId } from "@burrow/platform-core";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { createAdminApp } from "../src/app.tsx";
import { ADMIN, Browser, signInWithCode as signInAs } from "./console.ts";
import {
  createTestApi,
  enrolTotp,
  grantPlatformPermissions,
  PASSWORD,
  post,
  signIn,
  signUpUser,
  type TestApi,
  type TestUser,
} from "../../api/test/helpers.ts";

describe("the admin console", () => {
  let api: TestApi;
  let admin: ReturnType<typeof createAdminApp>;
  let operator: TestUser;
  let totpSecret: string;
  const codeNow = (secret: string) => referenceTotp(secret, Math.floor(api.clock.now().getTime() / 1000));

  beforeAll(async () => {
    api = await createTestApi({
      ADMIN_URL: ADMIN,
      // A social sign-in provider for the settings page to list (its discovery is never asked here).
      BURROW_OAUTH_PROVIDERS: JSON.stringify([
        {
          id: "acme",
          type: "oidc",
          issuer: "https://id.acme.example",
          clientId: "burrow-console",
          clientSecret: "provider-secret-do-not-show",
        },
      ]),
    });
    admin = createAdminApp(api.platform);
    operator = await signUpUser(api, { name: "Olga Operator" });
    await grantPlatformPermissions(api, operator.id, [
      "users:read",
      "users:manage",
      "audit:read",
      "security_events:resolve",
      "email:read",
      "email:manage",
      "users:impersonate",
    ]);
  });
  afterAll(() => api.close());

  const signInWithCode = (user: TestUser, secret: string) => signInAs(api, admin, user, secret);

  test("an operator without a second factor is walked through enrolling TOTP, then reaches the console", async () => {
    const browser = new Browser(admin);
    expect((await browser.get("/")).headers.get("location")).toBe("/sign-in");
    const page = await browser.get("/sign-in");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(page.headers.get("content-security-policy")).not.toContain("script-src");
    const signedIn = await browser.post("/sign-in", { email: operator.email, password: operator.password });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get("location")).toBe("/enrol-mfa");
    // Held back until a factor is enrolled: every console page sends it back to enrolment.
    expect((await browser.get("/users")).headers.get("location")).toBe("/enrol-mfa");

    const enrol = await browser.get("/enrol-mfa");
    expect(enrol.status).toBe(200);
    totpSecret = /<code>([A-Z2-7]+)<\/code>/.exec(browser.lastHtml)![1]!;
    const wrong = await browser.post("/enrol-mfa", { factorId: browser.field("factorId"), code: "000000" });
    expect(wrong.status).toBe(303);
    await browser.get(wrong.headers.get("location")!);
    expect(browser.lastHtml).toContain("That code did not work");
    totpSecret = /<code>([A-Z2-7]+)<\/code>/.exec(browser.lastHtml)![1]!;
    const done = await browser.post("/enrol-mfa", { factorId: browser.field("factorId"), code: codeNow(totpSecret) });
    expect(done.status).toBe(200);
    expect(browser.lastHtml).toContain("recovery codes");
    const users = await browser.get("/users");
    expect(users.status).toBe(200);
    expect(browser.lastHtml).toContain(operator.email);

    // The console's session is no key to the API, and an API session is none to the console.
    const adminToken = [...browser.cookies].find(([name]) => name === "burrow_admin")![1];
    expect((await api.request("/v1/me", { headers: { authorization: `Bearer ${adminToken}` } })).status).toBe(401);
    const apiSession = new Browser(admin);
    apiSession.cookies.set("burrow_admin", operator.token);
    expect((await apiSession.get("/users")).headers.get("location")).toBe("/sign-in");
  });

  test("finds a user, revokes their sessions (after re-authentication), suspends and unsuspends, each audited", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    const target = await signUpUser(api, { name: "Tess Target" });
    await browser.get(`/users?query=${encodeURIComponent(target.email)}`);
    expect(browser.lastHtml).toContain(`/users/${target.id}`);
    await browser.get(`/users/${target.id}`);
    expect(browser.lastHtml).toContain("Tess Target");

    const suspended = await browser.post(`/users/${target.id}/suspend`, {});
    expect(suspended.headers.get("location")).toBe(`/users/${target.id}?done=suspended`);
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(401);
    await browser.get(`/users/${target.id}?done=suspended`);
    expect(browser.lastHtml).toContain('class="badge suspended"');
    expect(browser.lastHtml).toContain("user.suspended");
    await browser.post(`/users/${target.id}/unsuspend`, {});
    const again = await signUpUser(api);
    await browser.get(`/users/${again.id}`);

    // Ending every session is destructive: 11 minutes after signing in, it asks for the code first.
    api.clock.advance(11 * 60_000);
    const asked = await browser.post(`/users/${again.id}/revoke-sessions`, {});
    expect(asked.headers.get("location")).toBe(`/reauthenticate?next=${encodeURIComponent(`/users/${again.id}`)}`);
    expect((await api.request("/v1/me", { headers: again.bearer })).status).toBe(200);
    await browser.get(asked.headers.get("location")!);
    const confirmed = await browser.post("/reauthenticate", { next: `/users/${again.id}`, code: codeNow(totpSecret) });
    expect(confirmed.headers.get("location")).toBe(`/users/${again.id}?done=reauthenticated`);
    await browser.get(`/users/${again.id}`);
    const revoked = await browser.post(`/users/${again.id}/revoke-sessions`, {});
    expect(revoked.headers.get("location")).toBe(`/users/${again.id}?done=sessions-revoked`);
    expect((await api.request("/v1/me", { headers: again.bearer })).status).toBe(401);
  });

  test("an operator who may only read sees no actions, and a direct post is refused", async () => {
    const reader = await signUpUser(api);
    await grantPlatformPermissions(api, reader.id, ["users:read"]);
    const { secret } = await enrolTotp(api, reader);
    const browser = await signInWithCode(reader, secret);
    const target = await signUpUser(api);
    await browser.get(`/users/${target.id}`);
    expect(browser.lastHtml).toContain(target.email);
    expect(browser.lastHtml).not.toContain("/suspend");
    const refused = await browser.post(`/users/${target.id}/suspend`, {});
    expect(refused.status).toBe(403);
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(200);
    // The menu offers only what the permissions cover, and the pages beyond them are refused.
    expect(browser.lastHtml).not.toContain('href="/audit"');
    expect((await browser.get("/audit")).status).toBe(403);
    expect((await browser.get("/security-events")).status).toBe(403);
    expect((await browser.get("/users/new")).status).toBe(403);
  });

  test("an account without platform permissions gets no console session", async () => {
    const someone = await signUpUser(api);
    const browser = new Browser(admin);
    await browser.get("/sign-in");
    const refused = await browser.post("/sign-in", { email: someone.email, password: someone.password });
    expect(refused.status).toBe(403);
    expect(browser.lastHtml).toContain("no access to the admin console");
    expect(browser.cookies.has("burrow_admin")).toBe(false);
    // A wrong password reads as it does anywhere else.
    const wrong = await browser.post("/sign-in", { email: someone.email, password: "not the password at all" });
    expect(wrong.status).toBe(401);
  });

  test("cross-site posts and posts without the form's token are refused, changing nothing", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    const target = await signUpUser(api);
    await browser.get(`/users/${target.id}`);
    const crossSite = await browser.post(`/users/${target.id}/suspend`, {}, { origin: "https://evil.example" });
    expect(crossSite.status).toBe(403);
    const noOrigin = await browser.post(`/users/${target.id}/suspend`, {}, { origin: "" });
    expect(noOrigin.status).toBe(403);
    const noToken = await browser.post(`/users/${target.id}/suspend`, { _csrf: "forged" });
    expect(noToken.status).toBe(403);
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(200);
  });

  test("user-supplied text is escaped, and unknown pages and ids are clear 404 pages", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    const evil = await signUpUser(api, { name: "<img src=x onerror=alert(1)>" });
    await browser.get(`/users/${evil.id}`);
    expect(browser.lastHtml).not.toContain("<img src=x");
    expect(browser.lastHtml).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect((await browser.get("/users/not-an-id")).status).toBe(404);
    expect((await browser.get("/users/usr_0000000000000000000000000")).status).toBe(404);
    expect((await browser.get("/nowhere")).status).toBe(404);
  });

  test("the audit log filters, pages and exports; security events are listed and resolved with a note", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    const target = await signUpUser(api);
    await browser.get(`/users/${target.id}`);
    await browser.post(`/users/${target.id}/suspend`, {});
    await browser.get(`/audit?action=user.suspended&targetId=${target.id}`);
    expect(browser.lastHtml).toContain(`user ${target.id}`);
    expect(browser.lastHtml.match(/<tr>/g)?.length).toBe(2); // the header and the one entry
    await browser.get(`/audit?action=user.suspended&targetId=${target.id}&from=2000-01-01&to=2000-01-02`);
    expect(browser.lastHtml).toContain("No entries match.");
    const csv = await browser.get(`/audit/export?targetId=${target.id}&format=csv`);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toStartWith("id,");
    expect(lines.some((line) => line.includes("user.suspended"))).toBe(true);

    // Granting a platform role raises a high-severity security event.
    const granted = await api.platform.operator.createAdmin(`granted-${crypto.randomUUID().slice(0, 8)}@example.com`);
    await browser.get("/security-events");
    expect(browser.lastHtml).toContain("platform_role_granted");
    const eventId = /action="\/security-events\/([^/]+)\/resolve"/.exec(browser.lastHtml)![1]!;
    const empty = await browser.post(`/security-events/${eventId}/resolve`, { note: "   " });
    expect(empty.status).toBe(400);
    await browser.get("/security-events");
    const resolved = await browser.post(`/security-events/${eventId}/resolve`, {
      note: "Expected: <b>new operator</b>",
    });
    expect(resolved.headers.get("location")).toBe("/security-events?done=resolved");
    await browser.get("/security-events?resolved=true");
    expect(browser.lastHtml).toContain("Expected: &lt;b&gt;new operator&lt;/b&gt;");
    expect(granted.userId).toStartWith("usr_");
  });

  test("the overview counts accounts, sign-ups, sign-ins and failures per day, and shows each part to who may see it", async () => {
    const today = () => api.clock.now().toISOString().slice(0, 10);
    const before = await api.platform.overview.summary(operator.id);
    expect(before.activity).toHaveLength(14);
    expect(before.activity!.at(-1)!.day).toBe(today());
    const newcomer = await signUpUser(api);
    expect((await signIn(api, newcomer.email, "not the password, clearly")).status).toBe(401);
    await api.platform.userAdministration.suspend(operator.id, newcomer.id as never, {});
    const after = await api.platform.overview.summary(operator.id);
    const [was, now] = [before.activity!.at(-1)!, after.activity!.at(-1)!];
    expect(now.signUps - was.signUps).toBe(1);
    expect(now.failedSignIns - was.failedSignIns).toBe(1);
    expect(now.signIns - was.signIns).toBeGreaterThanOrEqual(1);
    expect(after.users!.byStatus.suspended - before.users!.byStatus.suspended).toBe(1);
    expect(after.users!.byStatus.active - before.users!.byStatus.active).toBe(0);
    // Tomorrow, today's figures move one day back in the window.
    api.clock.advance(86_400_000);
    const tomorrow = await api.platform.overview.summary(operator.id);
    expect(tomorrow.activity!.at(-2)).toEqual(now);
    expect(tomorrow.activity!.at(-1)).toEqual({ day: today(), signUps: 0, signIns: 0, failedSignIns: 0 });

    const browser = await signInWithCode(operator, totpSecret);
    await browser.get("/");
    expect(browser.lastHtml).toContain('role="img"');
    expect(browser.lastHtml).toContain("Open security events");

    // users:read alone: the accounts, not the audit log's figures; no permission: no overview.
    const reader = await signUpUser(api);
    await grantPlatformPermissions(api, reader.id, ["users:read"]);
    const partial = await api.platform.overview.summary(reader.id);
    expect(partial.users).not.toBeNull();
    expect(partial.activity).toBeNull();
    expect(partial.openSecurityEvents).toBeNull();
    await expect(api.platform.overview.summary(newcomer.id)).rejects.toMatchObject({ code: "forbidden" });
  });

  test("a refused action's page links back to the console page it was posted from, never elsewhere", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    const active = await signUpUser(api);
    const backLink = () => /<a href="([^"]*)">Back to (?:the page|the console)<\/a>/.exec(browser.lastHtml)?.[1];
    const refusedFrom = async (referer: string | undefined) => {
      await browser.get(`/users/${active.id}`);
      const refused = await browser.post(`/users/${active.id}/unsuspend`, {}, referer === undefined ? {} : { referer });
      expect(refused.status).toBe(409);
      expect(browser.lastHtml).toContain("The user is not suspended.");
      return backLink();
    };
    expect(await refusedFrom(`${ADMIN}/users/${active.id}?tab=1`)).toBe(`${ADMIN}/users/${active.id}?tab=1`);
    // Another site's page, or none: the overview.
    expect(await refusedFrom("https://evil.example/users")).toBe("/");
    expect(await refusedFrom(undefined)).toBe("/");
    // A console URL whose path reads as another host when written alone stays on the console.
    expect(await refusedFrom(`${ADMIN}//evil.example/x`)).toBe(`${ADMIN}//evil.example/x`);
  });

  test("creates a user, who gets the account-setup mail; a taken address is said so on the form", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    await browser.get("/users");
    expect(browser.lastHtml).toContain('href="/users/new"');
    await browser.get("/users/new");
    const address = `hire-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const created = await browser.post("/users/new", { email: address, name: "Hiro Hire", sendSetupEmail: "yes" });
    expect(created.status).toBe(303);
    const location = created.headers.get("location")!;
    expect(location).toMatch(/^\/users\/usr_[a-z0-9]+\?done=created$/);
    await browser.get(location);
    expect(browser.lastHtml).toContain('class="badge invited"');
    const messages = await api.platform.email.outbox.list(api.database.db, { to: address });
    expect(messages.map((message) => message.templateKey)).toEqual(["auth.account_setup"]);

    await browser.get("/users/new");
    const taken = await browser.post("/users/new", { email: address });
    expect(taken.status).toBe(409);
    expect(browser.lastHtml).toContain("An account with this email already exists.");
    expect(browser.lastHtml).toContain(`value="${address}"`);
  });

  test("the email editor previews a draft in its frame, saves it as a new version, and sends a test", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    await browser.get("/email");
    expect(browser.lastHtml).toContain('href="/email/templates/auth.magic_link"');
    const page = await browser.get("/email/templates/auth.magic_link");
    expect(page.headers.get("content-security-policy")).toContain("frame-src 'self'");
    const mjml = browser.lastHtml
      .match(/<textarea id="mjml"[^>]*>([\s\S]*?)<\/textarea>/)![1]!
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">")
      .replaceAll("&quot;", '"')
      .replaceAll("&#39;", "'")
      .replaceAll("&amp;", "&");
    const edited = mjml.replace(
      "Use the button below to sign in.",
      "Edited in the console. Use the button below to sign in.",
    );
    expect(edited).not.toBe(mjml);
    const subject = browser.field("subject");

    const framed = await browser.post("/email/templates/auth.magic_link/preview", { subject, mjml: edited, text: "" });
    expect(framed.status).toBe(200);
    expect(framed.headers.get("content-security-policy")).toContain("frame-ancestors 'self'");
    expect(framed.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(await framed.text()).toContain("Edited in the console.");
    const broken = await browser.post("/email/templates/auth.magic_link/preview", { subject, mjml: "{{nope}}" });
    expect(broken.status).toBe(400);
    expect(await broken.text()).toContain("This draft does not render.");

    await browser.get("/email/templates/auth.magic_link");
    const before = (await api.platform.emailAdministration.template(operator.id, "auth.magic_link")).version;
    const refusedDraft = await browser.post("/email/templates/auth.magic_link", { subject, mjml: "{{nope}}" });
    expect(refusedDraft.status).toBe(400);
    expect(browser.lastHtml).toContain("{{nope}}");
    const saved = await browser.post("/email/templates/auth.magic_link", { subject, mjml: edited, text: "" });
    expect(saved.headers.get("location")).toBe("/email/templates/auth.magic_link?done=saved");
    const after = await api.platform.emailAdministration.template(operator.id, "auth.magic_link");
    expect(after.version).toBe(before + 1);
    expect(after.mjml).toContain("Edited in the console.");
    expect((await browser.get("/email/templates/auth.magic_link/preview")).status).toBe(200);
    expect(browser.lastHtml).toContain("Edited in the console.");

    await browser.get("/email/templates/auth.magic_link");
    const test = await browser.post("/email/templates/auth.magic_link/test", {});
    expect(test.headers.get("location")).toBe("/email/templates/auth.magic_link?done=test-sent");
    await browser.get("/email/messages");
    expect(browser.lastHtml).toContain(operator.email);
    expect(browser.lastHtml).toContain("auth.magic_link");
  });

  test("a user's factors, organizations and keys; removing a factor, sending a reset, marking the address verified", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    const target = await signUpUser(api);
    const { factorId } = await enrolTotp(api, target);
    const org = await api.request("/v1/orgs", { method: "POST", headers: target.bearer, json: { name: "Target Co" } });
    expect(org.status).toBe(201);
    await browser.get(`/users/${target.id}`);
    expect(browser.lastHtml).toContain("Authenticator app");
    expect(browser.lastHtml).toContain("Target Co");
    expect(browser.lastHtml).toContain("No phone numbers.");
    const key = (await (
      await api.request("/v1/api-keys", {
        method: "POST",
        headers: target.bearer,
        json: { name: "Deploy bot", scopes: ["profile:read"] },
      })
    ).json()) as { id: string; secret: string };
    expect((await api.request("/v1/me", { headers: { "x-api-key": key.secret } })).status).toBe(200);
    await browser.get(`/users/${target.id}`);
    expect(browser.lastHtml).toContain("Deploy bot");
    expect(browser.lastHtml).not.toContain(key.secret);
    const revokedKey = await browser.post(`/users/${target.id}/api-keys/${key.id}/revoke`, {});
    expect(revokedKey.headers.get("location")).toBe(`/users/${target.id}?done=key-revoked`);
    expect((await api.request("/v1/me", { headers: { "x-api-key": key.secret } })).status).toBe(401);
    const keyAudit = await api.platform.auditTrail.search(operator.id, { action: "api_key.revoked", targetId: key.id });
    expect(keyAudit.data[0]?.actorId).toBe(operator.id);

    const removed = await browser.post(`/users/${target.id}/factors/${factorId}/remove`, {});
    expect(removed.headers.get("location")).toBe(`/users/${target.id}?done=factor-removed`);
    expect(await api.platform.auth.factors.list(api.database.db, target.id as never)).toEqual([]);
    const trail = await api.platform.auditTrail.search(operator.id, {
      action: "mfa.factor_removed",
      targetId: factorId,
    });
    expect(trail.data[0]?.actorId).toBe(operator.id);

    await browser.get(`/users/${target.id}`);
    await browser.post(`/users/${target.id}/password-reset`, {});
    await api.runJobs();
    const mails = await api.platform.email.outbox.list(api.database.db, { to: target.email });
    expect(mails.map((mail) => mail.templateKey)).toEqual(
      expect.arrayContaining(["security.mfa_changed", "auth.password_reset"]),
    );
    await browser.get(`/users/${target.id}`);
    expect(browser.lastHtml).toContain("not verified");
    await browser.post(`/users/${target.id}/verify-email`, {});
    await browser.get(`/users/${target.id}`);
    expect(browser.lastHtml).not.toContain("not verified");
  });

  test("a user's addresses: listed with their state; an operator marks one verified and removes one, audited", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    const target = await signUpUser(api);
    const added = await post(api, "/v1/me/emails", { email: `second-${target.id}@example.com` }, target.bearer);
    const address = (await added.json()) as { id: string };
    await api.platform.db.transaction((tx) =>
      api.platform.auth.linkedAccounts.link(
        tx,
        target.id,
        {
          provider: "acme",
          subject: `acme-${target.id}`,
          email: `at-acme-${target.id}@example.com`,
          emailVerified: true,
          trusted: false,
          profile: {},
          accessToken: "provider-access-token",
          refreshToken: null,
        },
        { ip: "127.0.0.1", userAgent: "test", requestId: "req_test" },
      ),
    );
    await browser.get(`/users/${target.id}`);
    expect(browser.lastHtml).toContain(`second-${target.id}@example.com`);
    // Linked social accounts, never with the provider's tokens.
    expect(browser.lastHtml).toContain(`at-acme-${target.id}@example.com`);
    expect(browser.lastHtml).not.toContain("provider-access-token");
    expect(browser.lastHtml).toContain(`action="/users/${target.id}/emails/${address.id}/verify"`);
    const verified = await browser.post(`/users/${target.id}/emails/${address.id}/verify`, {});
    expect(verified.headers.get("location")).toBe(`/users/${target.id}?done=address-verified`);
    const listed = await api.platform.auth.emails.list(api.database.db, target.id as never);
    expect(listed.find((entry) => entry.id === address.id)?.verified).toBe(true);
    // The verified address now signs in to the account.
    expect(
      (await post(api, "/v1/auth/sign-in", { email: `second-${target.id}@example.com`, password: PASSWORD })).status,
    ).toBe(200);
    const trail = await api.platform.auditTrail.search(operator.id, {
      action: "user.email_verified",
      targetId: target.id,
    });
    expect(trail.data[0]?.actorId).toBe(operator.id);

    // The account's primary address is unproven (this suite signs up without verification), so the
    // added one is its only verified address: kept, and the page says why.
    const kept = await browser.post(`/users/${target.id}/emails/${address.id}/remove`, {});
    expect(kept.status).toBe(409);
    expect(browser.lastHtml).toContain("only verified address");
    expect(await api.platform.auth.emails.list(api.database.db, target.id as never)).toHaveLength(2);
    await browser.post(`/users/${target.id}/verify-email`, {});
    const removed = await browser.post(`/users/${target.id}/emails/${address.id}/remove`, {});
    expect(removed.headers.get("location")).toBe(`/users/${target.id}?done=address-removed`);
    expect(await api.platform.auth.emails.list(api.database.db, target.id as never)).toHaveLength(1);
    await browser.get(`/users/${target.id}`);
    expect(browser.lastHtml).not.toContain(`second-${target.id}@example.com`);
  });

  test("impersonating gives the operator a one-time link to open; never offered for themselves", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    const target = await signUpUser(api);
    await browser.get(`/users/${target.id}`);
    expect(browser.lastHtml).toContain(`action="/users/${target.id}/impersonate"`);
    const made = await browser.post(`/users/${target.id}/impersonate`, {});
    expect(made.status).toBe(200);
    const url = /href="(http:\/\/localhost:3000\/auth\/impersonate\?token=[^"]+)"/.exec(browser.lastHtml)![1]!;
    const opened = await api.request(new URL(url.replaceAll("&amp;", "&")).pathname + new URL(url).search);
    expect(opened.status).toBe(200);
    await browser.get(`/users/${operator.id}`);
    expect(browser.lastHtml).not.toContain(`/users/${operator.id}/impersonate`);
  });

  test("settings show the configuration without a secret, and the signing keys, which rotate after a step-up", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    expect((await browser.get("/settings")).status).toBe(403);
    const keeper = await signUpUser(api);
    await grantPlatformPermissions(api, keeper.id, ["settings:read", "signing_keys:rotate"]);
    const factor = await enrolTotp(api, keeper);
    const settings = await signInAs(api, admin, keeper, factor.secret);
    await settings.get("/settings");
    expect(settings.lastHtml).toContain("session.idleTimeoutMs");
    expect(settings.lastHtml).toContain("set (redacted)");
    expect(settings.lastHtml).not.toContain(api.config.secret);
    // The social sign-in providers, without their client secrets.
    expect(settings.lastHtml).toContain("<code>https://id.acme.example</code>");
    expect(settings.lastHtml).toContain("<code>burrow-console</code>");
    expect(settings.lastHtml).not.toContain("provider-secret-do-not-show");
    [
      ...settings.lastHtml.matchAll(
        /<td><code>([^<]+)<\/code><\/td><td>EdDSA|<td><code>([^<]+)<\/code><\/td><td>ES256/g,
      ),
    ].length;
    const before = api.platform.auth.signingKeys.jwks().keys.length;
    expect(before).toBeGreaterThan(0);
    api.clock.advance(11 * 60_000);
    const asked = await settings.post("/settings/rotate-signing-key", {});
    expect(asked.headers.get("location")).toBe("/reauthenticate?next=%2Fsettings");
    await settings.get("/reauthenticate?next=%2Fsettings");
    const code = referenceTotp(factor.secret, Math.floor(api.clock.now().getTime() / 1000));
    await settings.post("/reauthenticate", { next: "/settings", code });
    await settings.get("/settings");
    const rotated = await settings.post("/settings/rotate-signing-key", {});
    expect(rotated.headers.get("location")).toBe("/settings?done=rotated");
    expect(api.platform.auth.signingKeys.jwks().keys.length).toBe(before + 1);
    await settings.get("/settings?done=rotated");
    for (const key of api.platform.auth.signingKeys.jwks().keys) expect(settings.lastHtml).toContain(String(key.kid));
  });

  test("the audit timeline groups the filtered entries by UTC day, newest first, with their times", async () => {
    const target = await signUpUser(api);
    const other = await signUpUser(api);
    const { userAdministration } = api.platform;
    const firstDay = api.clock.now().toISOString().slice(0, 10);
    await userAdministration.suspend(operator.id, target.id as UserId, {});
    await userAdministration.suspend(operator.id, other.id as UserId, {});
    api.clock.advance(24 * 60 * 60_000);
    const secondDay = api.clock.now().toISOString().slice(0, 10);
    await userAdministration.unsuspend(operator.id, target.id as UserId, {});
    const unsuspendedAt = api.clock.now().toISOString().slice(11, 19);
    const browser = await signInWithCode(operator, totpSecret);

    await browser.get(`/audit?targetId=${target.id}`);
    expect(browser.lastHtml).toContain(`href="/audit/timeline?targetId=${target.id}"`);
    const page = await browser.get(`/audit/timeline?targetId=${target.id}`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).not.toContain("script-src");
    const html = browser.lastHtml;
    const sections = [...html.matchAll(/<section class="day" aria-label="([^"]+)">/g)].map((match) => match[1]);
    expect(sections).toEqual([secondDay, firstDay]);
    const [newer, older] = html.split(/<section class="day"/).slice(1);
    expect(newer).toContain("user.unsuspended");
    expect(newer).toContain(`<time datetime="${secondDay}T${unsuspendedAt}.000Z">${unsuspendedAt}</time>`);
    expect(newer).not.toContain("user.suspended");
    expect(older).toContain("user.suspended");
    expect(older).toContain("user.signed_up");
    // The filter holds: the other user's suspension is not on the target's timeline.
    expect(html).not.toContain(other.id);
    // One tick per entry on each day's strip.
    expect(newer!.match(/<rect /g)?.length).toBe(1);
    // The filter form keeps the view, and the export links keep the filters.
    expect(html).toContain('action="/audit/timeline"');
    expect(html).toContain(`/audit/export?targetId=${target.id}&amp;format=csv`);

    await browser.get(`/audit/timeline?targetId=${target.id}&from=2000-01-01&to=2000-01-02`);
    expect(browser.lastHtml).toContain("No entries match.");
    const bad = await browser.get("/audit/timeline?action=user.nothing");
    expect(bad.status).toBe(400);
    expect((await browser.get("/audit/timeline?cursor=AAAA")).status).toBe(400);
  });

  test("in-place updates: htmx served by the console itself, an action answered with its row, the same rules as a form", async () => {
    const browser = await signInWithCode(operator, totpSecret);
    const users = await browser.get("/users");
    expect(users.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(users.headers.get("content-security-policy")).not.toContain("unsafe-inline");
    expect(users.headers.get("content-security-policy")).toContain("connect-src 'self'");
    expect(browser.lastHtml).toContain('<script defer="" src="/assets/htmx.min.js"></script>');
    expect(browser.lastHtml).toContain("&quot;includeIndicatorStyles&quot;:false");
    expect(browser.lastHtml).toContain('hx-get="/users"');
    const htmx = await browser.get("/assets/htmx.min.js");
    expect(htmx.headers.get("content-type")).toStartWith("text/javascript");
    expect(await htmx.text()).toContain('version:"2.0.11"');
    // Pages without in-place updates stay script-free.
    const audit = await browser.get("/audit");
    expect(audit.headers.get("content-security-policy")).not.toContain("script-src");
    expect(browser.lastHtml).not.toContain("<script");

    const target = await signUpUser(api);
    const [session] = await api.platform.userAdministration.sessions(operator.id, target.id as UserId);
    await browser.get(`/users/${target.id}`);
    expect(browser.lastHtml).toContain(`hx-post="/users/${target.id}/sessions/${session!.id}/revoke"`);
    const hx = { "hx-request": "true" };
    // Without the page's CSRF token, or from another origin, an htmx request is refused like a form.
    const noToken = await browser.post(`/users/${target.id}/sessions/${session!.id}/revoke`, { _csrf: "" }, hx);
    expect(noToken.status).toBe(403);
    const elsewhere = await browser.post(
      `/users/${target.id}/sessions/${session!.id}/revoke`,
      {},
      {
        ...hx,
        origin: "https://evil.example",
      },
    );
    expect(elsewhere.status).toBe(403);
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(200);

    const revoked = await browser.post(`/users/${target.id}/sessions/${session!.id}/revoke`, {}, hx);
    expect(revoked.status).toBe(200);
    const row = await revoked.text();
    expect(row).toStartWith('<tr class="done">');
    expect(row).toContain("The session has ended.");
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(401);
    // Again: the session is gone, a 404 (htmx shows the error page in place of the page).
    const again = await browser.post(`/users/${target.id}/sessions/${session!.id}/revoke`, {}, hx);
    expect(again.status).toBe(404);

    // A security event resolved in place; an empty note is the same 400 as the form's, and resolves nothing.
    await api.platform.operator.createAdmin(`inplace-${crypto.randomUUID().slice(0, 8)}@example.com`);
    await browser.get("/security-events");
    const eventId = /hx-post="\/security-events\/([^/]+)\/resolve"/.exec(browser.lastHtml)![1]!;
    expect((await browser.post(`/security-events/${eventId}/resolve`, { note: " " }, hx)).status).toBe(400);
    const open = await api.platform.securityEvents.list(operator.id, { resolved: false }, { limit: 200 });
    expect(open.data.some((event) => event.id === eventId)).toBe(true);
    const resolved = await browser.post(`/security-events/${eventId}/resolve`, { note: "expected" }, hx);
    expect(await resolved.text()).toContain("The security event is resolved.");

    // A console session that has ended sends htmx to the sign-in page as a page, not into the row.
    api.clock.advance(31 * 60_000);
    const expired = await browser.post(`/users/${target.id}/sessions/${session!.id}/revoke`, {}, hx);
    expect(expired.headers.get("hx-redirect")).toBe("/sign-in");
  });
});
