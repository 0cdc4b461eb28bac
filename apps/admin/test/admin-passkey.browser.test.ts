import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { addVirtualAuthenticator, launchChromium } from "@burrow/platform-core/browser";
import { createAdminApp } from "../src/app.tsx";
import { offlineContext, SCREENSHOTS } from "./browser.ts";
import {
  createTestApi,
  grantPlatformPermissions,
  signUpUser,
  type TestApi,
  type TestUser,
} from "../../api/test/helpers.ts";

describe("the admin console in Chromium: a passkey as the operator's second factor (virtual authenticator)", () => {
  let api: TestApi;
  let server: ReturnType<typeof Bun.serve>;
  let browser: Browser;
  let page: Page;
  let origin: string;
  let operator: TestUser;
  const outside: string[] = [];
  const consoleErrors: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `admin-${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    let handler: (request: Request) => Response | Promise<Response> = () => new Response("starting", { status: 503 });
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => handler(request) });
    origin = `http://localhost:${server.port}`;
    api = await createTestApi({ ADMIN_URL: origin });
    const admin = createAdminApp(api.platform);
    handler = (request) => admin.fetch(request, { remoteAddress: "127.0.0.1" });
    operator = await signUpUser(api, { name: "Kim Key" });
    await grantPlatformPermissions(api, operator.id, ["users:read", "audit:read"]);
    browser = await launchChromium();
    const context = await offlineContext(browser, outside);
    page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(error.message));
    await addVirtualAuthenticator(page);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop(true);
    await api?.close();
  });

  const signInWithPassword = async () => {
    await page.goto(`${origin}/sign-in`);
    await page.fill("#email", operator.email);
    await page.fill("#password", operator.password);
    await page.click("button[type=submit]");
  };

  test("an operator without a factor adds a passkey in the enrolment walk-through, and reaches the console", async () => {
    await signInWithPassword();
    await page.waitForURL(`${origin}/enrol-mfa`);
    // The script found WebAuthn and showed the passkey form beside the authenticator app's.
    await page.locator("button", { hasText: "Add a passkey" }).waitFor({ state: "visible" });
    expect(await page.locator("img.qr").count()).toBe(1);
    await page.click("button:has-text('Add a passkey')");
    await page.waitForSelector("text=Two-step verification is on");
    const factors = (await api.platform.userAdministration.details(operator.id, operator.id as never)).factors;
    expect(factors.filter((factor) => factor.type === "passkey" && factor.confirmedAt !== null)).toHaveLength(1);
    expect(factors.filter((factor) => factor.type === "totp" && factor.confirmedAt !== null)).toHaveLength(0);
    await page.click("text=Continue to the console");
    await page.waitForURL(`${origin}/`);
    await page.click("text=Sign out");
    await page.waitForURL(`${origin}/sign-in`);
  });

  test("signs in with the passkey at the second step; no CSP violation, nothing loaded from elsewhere", async () => {
    await signInWithPassword();
    await page.waitForSelector("text=Two-step verification");
    await page.locator("button", { hasText: "Use a passkey" }).waitFor({ state: "visible" });
    await shot("mfa-passkey");
    await page.click("button:has-text('Use a passkey')");
    await page.waitForURL(`${origin}/`);
    expect(await page.locator("nav a", { hasText: "Users" }).count()).toBe(1);
    const sessions = await api.platform.userAdministration.sessions(operator.id, operator.id as never);
    expect(sessions.map((row) => [row.audience, row.authMethods])).toContainEqual(["admin", ["password", "passkey"]]);
    expect(consoleErrors).toEqual([]);
    expect(outside).toEqual([]);
  });
});
