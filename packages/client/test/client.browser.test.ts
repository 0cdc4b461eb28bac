import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { addVirtualAuthenticator, launchChromium } from "@burrow/platform-core/browser";
import type { library } from "./fixtures/browser-entry.ts";
import { startBurrow, type RunningBurrow } from "./burrow.ts";

/** What the page's script exposes on globalThis (code evaluated in the page reaches it there). */
type InPage = { burrowClient: typeof library };

describe("@burrow/client in Chromium", () => {
  let burrow: RunningBurrow;
  let browser: Browser;
  let page: Page;
  const blocked: string[] = [];

  beforeAll(async () => {
    const bundle = await Bun.build({
      entrypoints: [`${import.meta.dir}/fixtures/browser-entry.ts`],
      target: "browser",
      format: "iife",
    });
    if (!bundle.success) throw new AggregateError(bundle.logs, "the client did not bundle");
    const script = await bundle.outputs[0]!.text();
    // A passkey's relying party must be a domain: the page and the API are http://localhost:<port>.
    burrow = await startBurrow({}, { host: "localhost" });
    burrow.serve(
      "/",
      () =>
        new Response('<!doctype html><html><head><script src="/client.js"></script></head><body>app</body></html>', {
          headers: { "content-type": "text/html" },
        }),
    );
    burrow.serve("/client.js", () => new Response(script, { headers: { "content-type": "text/javascript" } }));

    browser = await launchChromium();
    const context = await browser.newContext();
    // The page may reach Burrow and nothing else.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (new URL(url).origin === burrow.baseUrl) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    page = await context.newPage();
    await addVirtualAuthenticator(page);
    await page.goto(burrow.baseUrl);
  });
  afterAll(async () => {
    await browser?.close();
    await burrow?.close();
  });

  test("cookie mode: sign-up, the session, a change past the CSRF rule, a typed error, sign-out", async () => {
    const outcome = await page.evaluate(async () => {
      const { BurrowError, createBurrowClient } = (globalThis as unknown as InPage).burrowClient;
      const client = createBurrowClient({ baseUrl: location.origin, mode: "cookie" });
      const email = `browser-${crypto.randomUUID().slice(0, 8)}@example.com`;
      const signedUp = await client.signUp({ email, password: "purple submarine garden" });
      const session = await client.getSession();
      const { data: renamed } = await client.api.PATCH("/v1/me", { body: { name: "Grace" } });
      const wrong = await client.signIn({ email, password: "not the password" }).catch((error: unknown) => error);
      await client.signOut();
      return {
        email,
        status: signedUp.status,
        sessionEmail: session?.user.email,
        renamed: renamed?.name,
        wrongIsTyped: wrong instanceof BurrowError,
        wrongCode: (wrong as { code?: string }).code,
        // HttpOnly: no script on the page can read the session.
        cookieVisible: document.cookie.includes("burrow_session"),
        afterSignOut: await client.getSession(),
      };
    });
    expect(outcome).toMatchObject({
      status: "signed_in",
      renamed: "Grace",
      wrongIsTyped: true,
      wrongCode: "invalid_credentials",
      cookieVisible: false,
      afterSignOut: null,
    });
    expect(outcome.sessionEmail).toBe(outcome.email);
    expect(blocked).toEqual([]);
  });

  test("passkeys: register one, sign in with it alone, then use it as the second factor", async () => {
    const outcome = await page.evaluate(async () => {
      const { createBurrowClient, registerPasskey, signInWithPasskey, verifyMfaWithPasskey } = (
        globalThis as unknown as InPage
      ).burrowClient;
      const client = createBurrowClient({ baseUrl: location.origin, mode: "cookie" });
      const email = `passkey-${crypto.randomUUID().slice(0, 8)}@example.com`;
      const password = "purple submarine garden";
      await client.signUp({ email, password });
      const added = await registerPasskey(client, { label: "Laptop" });
      await client.signOut();

      const alone = await signInWithPasskey(client);
      await client.signOut();

      const first = await client.signIn({ email, password });
      if (first.status !== "mfa_required") return { error: `expected mfa_required, got ${first.status}` };
      const second = await verifyMfaWithPasskey(client, first.mfaToken);
      return {
        email,
        label: added.passkey.label,
        recoveryCodes: added.recoveryCodes?.length,
        aloneEmail: alone.user.email,
        aloneMethods: alone.session.authMethods,
        methods: first.methods,
        secondMethods: second.session.authMethods,
        session: (await client.getSession())?.user.email,
      };
    });
    expect(outcome).toMatchObject({
      label: "Laptop",
      recoveryCodes: 10,
      aloneMethods: ["passkey"],
      secondMethods: ["password", "passkey"],
    });
    expect(outcome.methods).toContain("passkey");
    expect(outcome.aloneEmail).toBe(outcome.email!);
    expect(outcome.session).toBe(outcome.email!);
    expect(blocked).toEqual([]);
  });
});
