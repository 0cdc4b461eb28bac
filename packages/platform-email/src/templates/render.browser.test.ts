import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { launchChromium } from "@burrow/platform-core/browser";
import { DEFAULT_TEMPLATES } from "./defaults.ts";
import { createRenderer } from "./render.ts";

const renderer = createRenderer({ productName: "Burrow", brandColor: "#4f46e5" });
const values: Record<string, string> = {
  url: "https://id.example.com/auth/action?token=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
  code: "493027",
  newEmail: "new.address@example.com",
  email: "other.address@example.com",
  device: "Firefox on macOS",
  time: "2026-11-22 10:00",
  orgName: "Acme",
  inviterName: "Ada",
  change: "an authenticator app was added",
};

describe("default emails in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(() => browser.close());

  for (const template of DEFAULT_TEMPLATES) {
    test(`${template.key} shows its action and fits a phone screen`, async () => {
      const email = renderer.render(
        await renderer.compile(template.key, template),
        Object.fromEntries(template.variables.map((name) => [name, values[name]!])),
      );
      for (const width of [600, 375]) {
        const page = await browser.newPage({ viewport: { width, height: 800 } });
        // A mail client that loads a message's resources tells their host who opened it: there must be none.
        const fetched: string[] = [];
        await page.route("**/*", (route) => {
          fetched.push(route.request().url());
          return route.abort();
        });
        try {
          await page.setContent(email.html, { waitUntil: "load" });
          expect(fetched).toEqual([]);
          // The system font stack, inline on the text itself.
          expect(
            await page
              .getByText("Burrow")
              .first()
              .evaluate((element) => getComputedStyle(element).fontFamily),
          ).toContain("-apple-system");
          // Nothing sticks out sideways: no horizontal scrolling on a phone.
          expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
          expect(await page.getByText("Burrow").first().isVisible()).toBe(true);
          if (template.variables.includes("url")) {
            const button = page.locator(`a[href="${values.url}"]`).first();
            expect(await button.isVisible()).toBe(true);
            const box = (await button.boundingBox())!;
            // A button large enough to tap.
            expect(box.height).toBeGreaterThanOrEqual(40);
            // The link is also written out, for clients that hide buttons.
            expect(await page.getByText(values.url!, { exact: true }).count()).toBeGreaterThanOrEqual(1);
          }
          if (template.variables.includes("code"))
            expect(await page.getByText(values.code!, { exact: true }).isVisible()).toBe(true);
        } finally {
          await page.close();
        }
      }
    });
  }
});
