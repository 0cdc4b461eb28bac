import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "@burrow/platform-core/browser";
import { createTestApi, type TestApi } from "./helpers.ts";

/** BURROW_UPDATE_SCREENSHOTS=1 writes the screenshots into docs/images; otherwise to a temporary folder. */
const SCREENSHOTS =
  process.env.BURROW_UPDATE_SCREENSHOTS === "1"
    ? join(import.meta.dir, "../../../docs/images")
    : join(tmpdir(), "burrow-screenshots");
const BRAND = "rgb(79, 70, 229)"; // #4f46e5, the default BURROW_BRAND_COLOR

describe("hosted pages, the development mailbox and /docs in Chromium, offline", () => {
  let api: TestApi;
  let server: ReturnType<typeof Bun.serve>;
  let browser: Browser;
  let context: BrowserContext;
  let origin: string;
  /** Requests the page tried to make anywhere but this server (each was aborted). */
  const outside: string[] = [];
  /** Content-Security-Policy violations and other console errors. */
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    let handler: (request: Request) => Response | Promise<Response> = () => new Response("starting", { status: 503 });
    server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => handler(request) });
    origin = `http://localhost:${server.port}`;
    api = await createTestApi({ PUBLIC_URL: origin });
    handler = (request) => api.app.fetch(request, { remoteAddress: "127.0.0.1" });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 900, height: 760 } });
    // The network is closed: only this test's own server answers.
    await context.route("**/*", (route) => {
      const host = new URL(route.request().url()).hostname;
      if (host === "localhost" || host === "127.0.0.1") return route.continue();
      outside.push(route.request().url());
      return route.abort();
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop(true);
    await api?.close();
  });

  async function open(path: string): Promise<Page> {
    const page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(`${path}: ${message.text()}`);
    });
    const response = await page.goto(`${origin}${path}`, { waitUntil: "load" });
    expect(response?.ok() || response?.status() === 400).toBe(true);
    return page;
  }

  const pages = [
    "/auth/verify-email",
    "/auth/reset-password",
    "/auth/magic-link",
    "/auth/confirm-email-change",
    "/auth/confirm-email",
    "/auth/account-setup",
    "/auth/accept-invitation",
    "/auth/forgot-password",
    "/auth/not-me",
    "/auth/impersonate",
  ];
  for (const path of pages) {
    test(`${path} shows its designed card and button`, async () => {
      const page = await open(`${path}?token=${"a".repeat(43)}`);
      try {
        const card = await page.evaluate(() => {
          const main = document.querySelector("main")!;
          const style = getComputedStyle(main);
          return {
            maxWidth: style.maxWidth,
            background: style.backgroundColor,
            width: main.getBoundingClientRect().width,
            font: getComputedStyle(document.body).fontFamily,
          };
        });
        expect(card.maxWidth).toBe("420px");
        expect(card.width).toBeGreaterThanOrEqual(420);
        expect(card.width).toBeLessThanOrEqual(500);
        expect(card.background).toBe("rgb(255, 255, 255)");
        // The system font stack, not the browser's default serif.
        expect(card.font).toContain("-apple-system");
        const button = await page.evaluate(() => {
          const element = document.querySelector("button")!;
          const style = getComputedStyle(element);
          return {
            background: style.backgroundColor,
            color: style.color,
            height: element.getBoundingClientRect().height,
          };
        });
        expect(button.background).toBe(BRAND);
        expect(button.color).toBe("rgb(255, 255, 255)");
        expect(button.height).toBeGreaterThanOrEqual(40);
        if (path === "/auth/reset-password")
          await page.screenshot({ path: join(SCREENSHOTS, "hosted-page-reset-password.png") });
        if (path === "/auth/not-me") await page.screenshot({ path: join(SCREENSHOTS, "hosted-page-not-me.png") });
      } finally {
        await page.close();
      }
    });
  }

  test("the development mailbox lists mail and shows a message as sent", async () => {
    const message = await api.platform.email.outbox.queue(api.platform.db, {
      to: "new@example.com",
      template: "auth.verify_email",
      variables: { url: `${origin}/auth/verify-email?token=${"b".repeat(43)}` },
    });
    const list = await open("/dev/mailbox");
    try {
      const style = await list.evaluate(() => ({
        collapse: getComputedStyle(document.querySelector("table")!).borderCollapse,
        font: getComputedStyle(document.body).fontFamily,
        cellPadding: getComputedStyle(document.querySelector("td")!).paddingLeft,
      }));
      expect(style).toEqual({ collapse: "collapse", font: "system-ui, sans-serif", cellPadding: "12.8px" });
      await list.screenshot({ path: join(SCREENSHOTS, "dev-mailbox.png") });
    } finally {
      await list.close();
    }
    const shown = await open(`/dev/mailbox/${message.id}`);
    try {
      const button = shown.locator(`a[href*="/auth/verify-email"]`).first();
      expect(await button.isVisible()).toBe(true);
      // The MJML layout's styles apply: the button is the brand colour.
      const background = await button.evaluate(
        (element) => getComputedStyle(element.closest("td") ?? element).backgroundColor,
      );
      expect(background).toBe(BRAND);
    } finally {
      await shown.close();
    }
    const texts = await open("/dev/sms");
    try {
      expect(await texts.evaluate(() => getComputedStyle(document.querySelector("table")!).borderCollapse)).toBe(
        "collapse",
      );
    } finally {
      await texts.close();
    }
  });

  test("/docs renders the operation list from this server alone", async () => {
    const page = await open("/docs");
    try {
      await page.locator(".opblock").first().waitFor({ state: "visible", timeout: 15_000 });
      expect(await page.locator(".opblock").count()).toBeGreaterThan(50);
      expect(await page.getByText("/v1/auth/sign-in", { exact: true }).first().isVisible()).toBe(true);
      await page.screenshot({ path: join(SCREENSHOTS, "api-docs.png") });
    } finally {
      await page.close();
    }
  });

  test("nothing tried to reach another host, and no policy blocked anything", () => {
    expect(outside).toEqual([]);
    expect(consoleErrors.filter((error) => !/status of 400/.test(error))).toEqual([]);
  });
});
