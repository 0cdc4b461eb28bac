// What the console's Chromium tests share: where screenshots go, and a browser context that may
// reach only this machine.
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext } from "playwright-core";

/** BURROW_UPDATE_SCREENSHOTS=1 writes the screenshots into docs/images; otherwise to a temporary folder. */
export const SCREENSHOTS =
  process.env.BURROW_UPDATE_SCREENSHOTS === "1"
    ? join(import.meta.dir, "../../../docs/images")
    : join(tmpdir(), "burrow-screenshots");

/** A 1280×800 context whose requests to anywhere but localhost are aborted and listed in `outside`. */
export async function offlineContext(browser: Browser, outside: string[] = []): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.route("**/*", (route) => {
    const host = new URL(route.request().url()).hostname;
    if (host === "localhost" || host === "127.0.0.1") return route.continue();
    outside.push(route.request().url());
    return route.abort();
  });
  return context;
}
