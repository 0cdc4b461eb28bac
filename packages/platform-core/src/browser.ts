import { chromium, type Browser, type CDPSession, type Page } from "playwright-core";

/** Debian's Chromium; tests never download a browser. Override with CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Headless Chromium for browser tests and screenshots. Background networking is off: the machine
 * has no outside network, and the browser must only talk to the test's own pages.
 * @example const browser = await launchChromium(); const page = await browser.newPage(); … await browser.close();
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}

/**
 * Gives a page a virtual WebAuthn authenticator (Chrome DevTools Protocol): a platform authenticator
 * with discoverable credentials that verifies the user and answers at once, for passkey tests.
 * @example const { cdp, authenticatorId } = await addVirtualAuthenticator(page)
 */
export async function addVirtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}
