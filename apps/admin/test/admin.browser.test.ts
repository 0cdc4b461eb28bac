import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "@burrow/platform-core/browser";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { createAdminApp } from "../src/app.tsx";
import { offlineContext, SCREENSHOTS } from "./browser.ts";
import {
  createTestApi,
  enrolTotp,
  grantPlatformPermissions,
  signUpUser,
  type TestApi,
  type TestUser,
} from "../../api/test/helpers.ts";

const PASSWORD = "correct horse battery staple admin";

describe("the admin console in Chromium, offline: the first operator's journey", () => {
  let api: TestApi;
  let apiServer: ReturnType<typeof Bun.serve>;
  let adminServer: ReturnType<typeof Bun.serve>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let apiOrigin: string;
  let adminOrigin: string;
  let target: TestUser;
  let totpSecret: string;
  const outside: string[] = [];
  const consoleErrors: string[] = [];
  const codeNow = () => referenceTotp(totpSecret, Math.floor(api.clock.now().getTime() / 1000));
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `admin-${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    let apiHandler: (request: Request) => Response | Promise<Response> = () =>
      new Response("starting", { status: 503 });
    let adminHandler = apiHandler;
    apiServer = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => apiHandler(request) });
    adminServer = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => adminHandler(request) });
    apiOrigin = `http://localhost:${apiServer.port}`;
    adminOrigin = `http://localhost:${adminServer.port}`;
    api = await createTestApi({ PUBLIC_URL: apiOrigin, ADMIN_URL: adminOrigin, BURROW_WEBHOOK_ALLOW_LOOPBACK: "1" });
    const admin = createAdminApp(api.platform);
    apiHandler = (request) => api.app.fetch(request, { remoteAddress: "127.0.0.1" });
    adminHandler = (request) => admin.fetch(request, { remoteAddress: "127.0.0.1" });
    target = await signUpUser(api, { name: "Tess Target", userAgent: "Mozilla/5.0 (Macintosh) Firefox/140.0" });
    for (let index = 0; index < 12; index++) await signUpUser(api, { name: `Customer ${index + 1}` });
    browser = await launchChromium();
    context = await offlineContext(browser, outside);
    page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await apiServer?.stop(true);
    await adminServer?.stop(true);
    await api?.close();
  });

  test("create-admin's set-up link sets the password; the console asks for TOTP enrolment, then opens", async () => {
    const created = await api.platform.operator.createAdmin("first.operator@example.com");
    expect(created.setupLink).not.toBeNull();
    await page.goto(created.setupLink!.replace(api.config.publicUrl, apiOrigin));
    await page.fill("#password", PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForLoadState("load");
    await page.waitForSelector("text=Your account is ready");

    await page.goto(`${adminOrigin}/`);
    expect(page.url()).toBe(`${adminOrigin}/sign-in`);
    // Styled by its own stylesheet under the strict CSP: the button is the brand colour.
    const button = await page.evaluate(() => getComputedStyle(document.querySelector("button")!).backgroundColor);
    expect(button).toBe("rgb(79, 70, 229)");
    await page.fill("#email", "first.operator@example.com");
    await page.fill("#password", PASSWORD);
    await shot("sign-in");
    await page.click("button[type=submit]");
    await page.waitForURL(`${adminOrigin}/enrol-mfa`);
    const qr = await page.evaluate(() => document.querySelector<HTMLImageElement>("img.qr")!.naturalWidth);
    expect(qr).toBeGreaterThan(0);
    totpSecret = (await page.textContent("main code, .card code"))!.trim();
    // The walk-through offers a passkey too (Chromium has WebAuthn); this operator takes the app.
    expect(await page.locator("button", { hasText: "Add a passkey" }).isVisible()).toBe(true);
    await shot("enrol-mfa");
    await page.fill("#code", codeNow());
    await page.click('form[action="/enrol-mfa"] button[type=submit]');
    await page.waitForSelector("text=Two-step verification is on");
    expect(await page.locator(".codes li").count()).toBeGreaterThanOrEqual(8);
    await page.click("text=Continue to the console");
    await page.waitForURL(`${adminOrigin}/`);
    expect(await page.locator("nav a", { hasText: "Users" }).count()).toBe(1);
    // The chart is drawn: one bar per day and series, and the figures name today's sign-ups.
    expect(await page.locator("svg[role=img] rect").count()).toBe(14 * 3);
    expect(await page.getAttribute("svg[role=img]", "aria-label")).toContain(
      "Sign-ups: 13, Sign-ins: 14, Failed sign-ins: 0",
    );
    await shot("overview");
  });

  test("finds a user, revokes a session (their next API request fails), suspends and unsuspends", async () => {
    await page.goto(`${adminOrigin}/users`);
    expect(await page.locator("tbody tr").count()).toBeGreaterThanOrEqual(14);
    await shot("users");
    // Search as you type (htmx): the results change in place, the page is not loaded again.
    await page.evaluate(() => Object.assign(window, { samePage: true }));
    await page.locator("#query").pressSequentially("Tess");
    await page.waitForFunction(() => document.querySelectorAll("#user-results tbody tr").length === 1);
    await page.waitForURL(/query=Tess/);
    expect(await page.evaluate(() => (window as never as { samePage?: boolean }).samePage)).toBe(true);
    // The Search button still submits the form as a page.
    await page.click("form[role=search] button");
    await page.waitForLoadState("load");
    expect(await page.locator("tbody tr").count()).toBe(1);
    await page.click(`a[href="/users/${target.id}"]`);
    await page.waitForURL(`${adminOrigin}/users/${target.id}`);
    expect(await page.locator("tbody tr", { hasText: "Firefox" }).count()).toBe(1);
    await shot("user");

    // Revoking a session updates its row in place (htmx posts the form with its CSRF token).
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(200);
    await page.evaluate(() => Object.assign(window, { samePage: true }));
    await page.click(`form[action$="/revoke"] button`);
    await page.waitForSelector("tr.done >> text=The session has ended.");
    expect(await page.evaluate(() => (window as never as { samePage?: boolean }).samePage)).toBe(true);
    expect(page.url()).toBe(`${adminOrigin}/users/${target.id}`);
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(401);
    await page.reload();

    await page.click("text=Suspend");
    await page.waitForSelector("text=The user is suspended");
    expect(await page.locator(".badge.suspended").count()).toBe(1);
    await page.click("text=Unsuspend");
    await page.waitForSelector("text=The user is active again.");
    const trail = await page.locator("tbody tr code").allTextContents();
    expect(trail).toEqual(expect.arrayContaining(["user.suspended", "user.unsuspended"]));
  });

  test("reads the audit entries those actions wrote, and the security event create-admin raised", async () => {
    await page.click("nav >> text=Audit log");
    await page.waitForURL(`${adminOrigin}/audit`);
    const actions = await page.locator("tbody tr td:nth-child(2)").allTextContents();
    expect(actions.slice(0, 3)).toEqual(["user.unsuspended", "user.suspended", "session.revoked"]);
    await shot("audit");
    await page.click(".tabs >> text=Timeline");
    await page.waitForURL(`${adminOrigin}/audit/timeline`);
    const firstDay = await page.locator("section.day li code").first().textContent();
    expect(firstDay).toBe("user.unsuspended");
    expect(await page.locator("section.day svg.strip rect").count()).toBe(await page.locator("section.day li").count());
    await shot("audit-timeline");
    await page.click("nav >> text=Security events");
    await page.waitForURL(`${adminOrigin}/security-events`);
    expect(await page.locator("tbody tr", { hasText: "platform_role_granted" }).count()).toBe(1);
    await shot("security-events");
    // Resolved in place: the row says so; the resolved list has it with its note.
    await page.fill('tbody tr:has-text("platform_role_granted") input[name="note"]', "Expected: the first operator");
    await page.click('tbody tr:has-text("platform_role_granted") button');
    await page.waitForSelector("tr.done >> text=The security event is resolved.");
    expect(page.url()).toBe(`${adminOrigin}/security-events`);
    await page.goto(`${adminOrigin}/security-events?resolved=true`);
    expect(await page.locator("tbody tr", { hasText: "Expected: the first operator" }).count()).toBe(1);
  });

  test("edits an email template and sees the preview change, then saves it", async () => {
    await page.click("nav >> text=Email");
    await page.waitForURL(`${adminOrigin}/email`);
    await page.click('a[href="/email/templates/auth.magic_link"]');
    await page.waitForURL(`${adminOrigin}/email/templates/auth.magic_link`);
    const frame = page.frameLocator("iframe[name=preview]");
    await frame.locator("text=Use the button below to sign in.").waitFor();
    // The email's own inline styles apply in the frame: the button is the brand colour.
    const button = await frame
      .locator("a", { hasText: "Sign in" })
      .evaluate((a) => getComputedStyle(a).backgroundColor);
    expect(button).toBe("rgb(79, 70, 229)");
    const mjml = await page.inputValue("#mjml");
    await page.fill("#mjml", mjml.replace("Use the button below to sign in.", "Welcome back! Use the button below."));
    await page.click("button:has-text('Preview')");
    await frame.locator("text=Welcome back! Use the button below.").waitFor();
    await shot("email-editor");
    await page.click("button:has-text('Save as new version')");
    await page.waitForSelector("text=Saved: this version is the one sent from now on.");
    await frame.locator("text=Welcome back! Use the button below.").waitFor();
    const saved = await api.platform.emailAdministration.template(
      (await api.platform.auth.users.findByEmail(api.database.db, "first.operator@example.com"))!.id,
      "auth.magic_link",
    );
    expect(saved.mjml).toContain("Welcome back! Use the button below.");
  });

  test("adds a webhook endpoint, is shown its secret once, and sees the deliveries", async () => {
    await page.goto(`${adminOrigin}/webhooks`);
    await page.fill("#url", `http://127.0.0.1:${apiServer.port}/hooks/burrow`);
    await page.fill("#description", "CRM sync");
    await page.check('input[value="user.suspended"]');
    await page.check('input[value="user.created"]');
    await page.click("button:has-text('Add endpoint')");
    await page.waitForSelector("text=Endpoint added");
    expect(await page.textContent("pre")).toMatch(/^whsec_/);
    await page.click("text=Continue");
    await page.goto(`${adminOrigin}/users/${target.id}`);
    await page.click("text=Suspend");
    await page.waitForSelector("text=The user is suspended");
    await page.click("text=Unsuspend");
    await api.runJobs();
    await page.goto(`${adminOrigin}/webhooks`);
    await shot("webhooks");
    await page.click("text=CRM sync >> xpath=../a");
    await page.waitForSelector("text=Deliveries");
    expect(await page.locator("tbody tr", { hasText: "user.suspended" }).count()).toBe(1);
    await shot("webhook");
  });

  test("finds an organization and opens its members", async () => {
    // The target's session was revoked in the journey: a new owner makes the organization.
    const founder = await signUpUser(api, { name: "Fran Founder" });
    const created = await api.request("/v1/orgs", {
      method: "POST",
      headers: founder.bearer,
      json: { name: "Fran Rockets" },
    });
    const orgId = ((await created.json()) as { id: string }).id;
    await api.request(`/v1/orgs/${orgId}/invitations`, {
      method: "POST",
      headers: founder.bearer,
      json: { email: "new.engineer@example.com", role: "member" },
    });
    await page.click("nav >> text=Organizations");
    await page.waitForURL(`${adminOrigin}/orgs`);
    await shot("organizations");
    await page.click(`a[href="/orgs/${orgId}"]`);
    await page.waitForSelector("text=new.engineer@example.com");
    expect(await page.locator("tbody tr", { hasText: founder.email }).count()).toBe(1);
    await shot("organization");
    // The founder is its only owner: the console refuses to delete their account, and says why.
    await page.goto(`${adminOrigin}/users/${founder.id}`);
    const errorsBefore = consoleErrors.length;
    await page.click("text=Delete user");
    await page.waitForSelector("text=The account is the only owner of Fran Rockets");
    await shot("user-delete-refused");
    // The refusal's page is answered 409, which Chromium logs as a failed load: that one is expected.
    expect(consoleErrors.splice(errorsBefore)).toEqual([
      "Failed to load resource: the server responded with a status of 409 (Conflict)",
    ]);
    // Back where the operator was, the organizations the account belongs to lead to what unblocks it.
    await page.click("text=Back to the page");
    await page.waitForURL(`${adminOrigin}/users/${founder.id}`);
    expect(await page.locator(".badge.active").count()).toBe(1);
    await shot("user-organizations");
    await page.click("main >> text=Fran Rockets");
    await page.waitForURL(`${adminOrigin}/orgs/${orgId}`);
  });

  test("makes a user eligible for a platform role from their page; the roles page lists who holds and who may elevate", async () => {
    await page.goto(`${adminOrigin}/users/${target.id}`);
    await page.selectOption("#eligible-role", "support");
    await page.fill("#approver-permission", "users:manage");
    await page.click("button:has-text('Make eligible')");
    await page.waitForSelector("text=The user is eligible for the role");
    expect(await page.locator("tbody tr", { hasText: "needs users:manage" }).count()).toBe(1);
    await page.click("nav >> text=Roles");
    await page.waitForURL(`${adminOrigin}/roles`);
    expect(await page.locator("tbody tr", { hasText: "first.operator@example.com" }).count()).toBe(1);
    expect(await page.locator("tbody tr", { hasText: target.id }).count()).toBe(1);
    await shot("roles");
  });

  test("the settings page shows the configuration without its secrets", async () => {
    await page.goto(`${adminOrigin}/settings`);
    const text = (await page.textContent("main"))!;
    expect(text).toContain("session.idleTimeoutMs");
    // The pool's effective size, whether set or the machine's default.
    expect(text).toContain(`databasePoolSize${api.config.databasePoolSize}`);
    expect(text).not.toContain(api.config.secret);
    await shot("settings");
  });

  test("an operator who may only read users sees no Suspend button, and a direct post is refused", async () => {
    const reader = await signUpUser(api, { name: "Rita Reader" });
    await grantPlatformPermissions(api, reader.id, ["users:read"]);
    const factor = await enrolTotp(api, reader);
    const readerContext = await offlineContext(browser, outside);
    const readerPage = await readerContext.newPage();
    try {
      await readerPage.goto(`${adminOrigin}/sign-in`);
      await readerPage.fill("#email", reader.email);
      await readerPage.fill("#password", reader.password);
      await readerPage.click("button[type=submit]");
      await readerPage.waitForSelector("text=Two-step verification");
      api.clock.advance(30_000);
      await readerPage.fill("#code", referenceTotp(factor.secret, Math.floor(api.clock.now().getTime() / 1000)));
      await readerPage.click("button[type=submit]");
      await readerPage.waitForURL(`${adminOrigin}/`);
      const other = await signUpUser(api);
      await readerPage.goto(`${adminOrigin}/users/${other.id}`);
      expect(await readerPage.locator("button", { hasText: "Suspend" }).count()).toBe(0);
      expect(await readerPage.locator("nav a", { hasText: "Settings" }).count()).toBe(0);
      // The form the button would have posted, built by hand with the page's own CSRF token.
      await readerPage.evaluate((action) => {
        const form = document.createElement("form");
        form.method = "post";
        form.action = action;
        const token = document.querySelector<HTMLInputElement>('input[name="_csrf"]')!.cloneNode() as HTMLInputElement;
        form.append(token);
        document.body.append(form);
        form.submit();
      }, `/users/${other.id}/suspend`);
      await readerPage.waitForURL(`${adminOrigin}/users/${other.id}/suspend`);
      expect(await readerPage.textContent("h1")).toBe("Not allowed");
      expect((await api.request("/v1/me", { headers: other.bearer })).status).toBe(200);
    } finally {
      await readerContext.close();
    }
  });

  test("a cross-site form post is refused and changes nothing", async () => {
    const evil = await context.newPage();
    // A page elsewhere (another origin) that posts a form at the console, as a CSRF attack would.
    await evil.goto(`${apiOrigin}/readyz`);
    const navigated = evil.waitForURL(`${adminOrigin}/users/${target.id}/suspend`);
    await evil.evaluate(
      ({ action }) => {
        const form = document.createElement("form");
        form.method = "post";
        form.action = action;
        document.body.append(form);
        form.submit();
      },
      { action: `${adminOrigin}/users/${target.id}/suspend` },
    );
    await navigated;
    await evil.waitForLoadState("load");
    expect(await evil.textContent("body")).toContain("Cross-site request rejected");
    await evil.close();
    await page.goto(`${adminOrigin}/users/${target.id}`);
    expect(await page.locator(".badge.active").count()).toBe(1);
  });

  test("stays usable on a narrow window; nothing was loaded from anywhere else", async () => {
    await page.setViewportSize({ width: 420, height: 800 });
    await page.goto(`${adminOrigin}/users/${target.id}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot("user-narrow");
    expect(outside).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
