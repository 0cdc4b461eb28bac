import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq, isNull } from "drizzle-orm";
import type { Browser, CDPSession, Page } from "playwright-core";
import { addVirtualAuthenticator, launchChromium } from "@burrow/platform-core/browser";
import { loadConfig, silentLogger, type UserId } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { authSessions, mfaFactors } from "@burrow/platform-auth/schema";
import { composePlatform } from "@burrow/platform-http";
import { createTestApi, type TestApi } from "./helpers.ts";

interface Answer {
  status: number;
  body: Record<string, unknown> & { options?: unknown; ceremonyId?: string };
}

describe("passkeys in Chromium with a virtual authenticator", () => {
  let api: TestApi;
  let server: ReturnType<typeof Bun.serve>;
  let browser: Browser;
  let page: Page;
  let cdp: CDPSession;
  let authenticatorId: string;
  let origin: string;

  beforeAll(async () => {
    const bundle = await Bun.build({
      entrypoints: [`${import.meta.dir}/fixtures/webauthn-entry.ts`],
      target: "browser",
      format: "iife",
      minify: true,
    });
    const script = await bundle.outputs[0]!.text();
    let handler: (request: Request) => Response | Promise<Response> = () => new Response("starting", { status: 503 });
    server = Bun.serve({ hostname: "localhost", port: 0, fetch: (request) => handler(request) });
    origin = `http://localhost:${server.port}`;
    api = await createTestApi({ PUBLIC_URL: origin });
    handler = (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/")
        return new Response(
          '<!doctype html><html><head><script src="/webauthn.js"></script></head><body>passkeys</body></html>',
          { headers: { "content-type": "text/html" } },
        );
      if (path === "/webauthn.js") return new Response(script, { headers: { "content-type": "text/javascript" } });
      return api.app.fetch(request, { remoteAddress: "127.0.0.1" });
    };
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    ({ cdp, authenticatorId } = await addVirtualAuthenticator(page));
    await page.goto(origin);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop(true);
    await api?.close();
  });

  /** A JSON call from the page (same origin, with its cookie). */
  const call = (path: string, body?: unknown): Promise<Answer> =>
    page.evaluate(
      async ({ path, body }) => {
        const response = await fetch(path, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body ?? {}),
        });
        return { status: response.status, body: await response.json().catch(() => ({})) };
      },
      { path, body },
    );
  const register = (options: unknown) =>
    page.evaluate(
      (optionsJSON) =>
        (
          globalThis as never as { webauthn: { startRegistration: (input: unknown) => Promise<unknown> } }
        ).webauthn.startRegistration({ optionsJSON }),
      options,
    );
  const authenticate = (options: unknown) =>
    page.evaluate(
      (optionsJSON) =>
        (
          globalThis as never as { webauthn: { startAuthentication: (input: unknown) => Promise<unknown> } }
        ).webauthn.startAuthentication({ optionsJSON }),
      options,
    );
  const signOut = () => call("/v1/auth/sign-out");

  async function signUpWithPasskey(email: string): Promise<{ credentialId: string; recoveryCodes: unknown }> {
    expect((await call("/v1/auth/sign-up", { email, password: "purple submarine garden" })).status).toBe(201);
    const options = await call("/v1/passkeys/register/options");
    expect(options.status).toBe(200);
    const response = await register(options.body.options);
    const added = await call("/v1/passkeys/register/verify", {
      ceremonyId: options.body.ceremonyId,
      response,
      label: "Laptop",
    });
    expect(added.status).toBe(200);
    return { credentialId: (response as { id: string }).id, recoveryCodes: added.body.recoveryCodes };
  }

  test("register a passkey, then sign in with it alone (no username)", async () => {
    const { recoveryCodes } = await signUpWithPasskey("passkey@example.com");
    expect((recoveryCodes as string[]).length).toBe(10);
    await signOut();
    const options = await call("/v1/auth/passkey/options");
    expect((options.body.options as { allowCredentials?: unknown[] }).allowCredentials ?? []).toEqual([]);
    expect((options.body.options as { userVerification: string }).userVerification).toBe("required");
    const assertion = await authenticate(options.body.options);
    const signedIn = await call("/v1/auth/passkey/verify", {
      ceremonyId: options.body.ceremonyId,
      response: assertion,
    });
    expect(signedIn.status).toBe(200);
    expect((signedIn.body.user as { email: string }).email).toBe("passkey@example.com");
    expect((signedIn.body.session as { authMethods: string[] }).authMethods).toEqual(["passkey"]);
    // The same challenge and answer again: refused.
    const replay = await call("/v1/auth/passkey/verify", { ceremonyId: options.body.ceremonyId, response: assertion });
    expect(replay.status).toBe(401);
  });

  test("a passkey as the second factor after a password", async () => {
    await signOut();
    const first = await call("/v1/auth/sign-in", { email: "passkey@example.com", password: "purple submarine garden" });
    expect(first.body).toMatchObject({ mfaRequired: true, methods: ["passkey", "recovery_code"] });
    const options = await call("/v1/auth/mfa/passkey/options", { mfaToken: first.body.mfaToken });
    const assertion = await authenticate(options.body.options);
    const done = await call("/v1/auth/mfa/verify", {
      mfaToken: first.body.mfaToken,
      method: "passkey",
      assertion: { ceremonyId: options.body.ceremonyId, response: assertion },
    });
    expect(done.status).toBe(200);
    expect((done.body.session as { authMethods: string[] }).authMethods).toEqual(["password", "passkey"]);
  });

  test("another user's passkey cannot answer this user's challenge", async () => {
    await signOut();
    const other = await signUpWithPasskey("other@example.com");
    await signOut();
    const first = await call("/v1/auth/sign-in", { email: "passkey@example.com", password: "purple submarine garden" });
    const options = await call("/v1/auth/mfa/passkey/options", { mfaToken: first.body.mfaToken });
    // Point the browser at the other user's credential on this user's challenge.
    const forged = await authenticate({
      ...(options.body.options as object),
      allowCredentials: [{ id: other.credentialId, type: "public-key" }],
    });
    const refused = await call("/v1/auth/mfa/verify", {
      mfaToken: first.body.mfaToken,
      method: "passkey",
      assertion: { ceremonyId: options.body.ceremonyId, response: forged },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe("invalid_code");
    // Refused for the credential's owner, not for a malformed answer: the response named the other credential.
    expect((forged as { id: string }).id).toBe(other.credentialId);
  });

  test("a tampered signature or flags, and a counter that went backwards, are refused", async () => {
    await signOut();
    const tamper = async (
      change: (response: { response: { signature: string; authenticatorData: string } }) => void,
    ) => {
      const options = await call("/v1/auth/passkey/options");
      const assertion = (await authenticate(options.body.options)) as {
        response: { signature: string; authenticatorData: string };
      };
      change(assertion);
      return call("/v1/auth/passkey/verify", { ceremonyId: options.body.ceremonyId, response: assertion });
    };
    const flip = (text: string, index: number) => {
      const bytes = Buffer.from(text, "base64url");
      bytes[index] = bytes[index]! ^ 0x01;
      return bytes.toString("base64url");
    };
    expect(
      (await tamper((assertion) => void (assertion.response.signature = flip(assertion.response.signature, 20))))
        .status,
    ).toBe(401);
    // Byte 32 of authenticatorData holds the flags: clearing user verification breaks the signature too.
    expect(
      (
        await tamper(
          (assertion) => void (assertion.response.authenticatorData = flip(assertion.response.authenticatorData, 32)),
        )
      ).status,
    ).toBe(401);

    // The authenticator holds two discoverable passkeys and may answer with either: raise both counters.
    const counters = await api.platform.db
      .select({ id: mfaFactors.id, signCount: mfaFactors.signCount })
      .from(mfaFactors)
      .where(eq(mfaFactors.type, "passkey"));
    await api.platform.db.update(mfaFactors).set({ signCount: 1_000_000 }).where(eq(mfaFactors.type, "passkey"));
    const backwards = await tamper(() => {});
    expect(backwards.status).toBe(401);
    expect(backwards.body.code).toBe("invalid_credentials");
    for (const counter of counters)
      await api.platform.db
        .update(mfaFactors)
        .set({ signCount: counter.signCount })
        .where(eq(mfaFactors.id, counter.id));
  });

  test("a response for another origin or relying party is refused", async () => {
    const options = await call("/v1/auth/passkey/options");
    const assertion = await authenticate(options.body.options);
    // The same database, but a deployment that expects another origin and RP ID.
    const elsewhere = composePlatform({
      config: loadConfig({
        NODE_ENV: "test",
        BURROW_SECRET: "test-secret-".padEnd(48, "x"),
        BURROW_ENCRYPTION_KEYS: `v1:${Buffer.alloc(32, 42).toString("base64")}`,
        PUBLIC_URL: "https://id.example.com",
      }),
      database: api.database,
      clock: api.clock,
      log: silentLogger,
    });
    await expect(
      elsewhere.auth.passkeys.verifyAssertion({
        ceremonyId: options.body.ceremonyId!,
        response: assertion as never,
        purpose: "sign_in",
      }),
    ).rejects.toMatchObject({ code: "invalid_credentials" });
  });

  test("user verification is required: an authenticator that cannot verify the user gets no session", async () => {
    await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: false });
    try {
      const options = await call("/v1/auth/passkey/options");
      const outcome = await authenticate(options.body.options).then(
        (assertion) => call("/v1/auth/passkey/verify", { ceremonyId: options.body.ceremonyId, response: assertion }),
        () => ({ status: 0, body: {} }),
      );
      // Either the browser refuses the ceremony, or the server refuses the unverified answer.
      expect(outcome.status === 0 || outcome.status === 401).toBe(true);
    } finally {
      await cdp.send("WebAuthn.setUserVerified", { authenticatorId, isUserVerified: true });
    }
  });
  test("#13 a suspended user's passkey sign-in is refused and audited, and gives no session", async () => {
    await signOut();
    const options = await call("/v1/auth/passkey/options");
    const assertion = (await authenticate(options.body.options)) as { id: string };
    const [factor] = await api.platform.db.select().from(mfaFactors).where(eq(mfaFactors.credentialId, assertion.id));
    const userId = factor!.userId as UserId;
    await api.platform.auth.users.suspend(api.platform.db, userId, "system", {});
    try {
      const refused = await call("/v1/auth/passkey/verify", {
        ceremonyId: options.body.ceremonyId,
        response: assertion,
      });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe("account_suspended");
      const denied = await api.platform.db
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.action, "user.sign_in_failed"), eq(auditLogs.targetId, userId)));
      expect(denied.map((entry) => (entry.metadata as { reason?: string }).reason)).toContain("suspended");
      const sessions = await api.platform.db
        .select()
        .from(authSessions)
        .where(and(eq(authSessions.userId, userId), isNull(authSessions.revokedAt)));
      expect(sessions).toEqual([]);
    } finally {
      await api.platform.auth.users.unsuspend(api.platform.db, userId, "system", {});
    }
    // The ceremony was used up: after unsuspension the same answer signs nobody in.
    expect(
      (await call("/v1/auth/passkey/verify", { ceremonyId: options.body.ceremonyId, response: assertion })).status,
    ).toBe(401);
  });

  test("#13 a refused assertion is audited and its ceremony cannot be retried with a good answer", async () => {
    await signOut();
    const options = await call("/v1/auth/passkey/options");
    const assertion = (await authenticate(options.body.options)) as { id: string; response: { signature: string } };
    const [factor] = await api.platform.db.select().from(mfaFactors).where(eq(mfaFactors.credentialId, assertion.id));
    const before = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "mfa.factor_failed"), eq(auditLogs.targetId, factor!.id)));
    const genuine = assertion.response.signature;
    const bytes = Buffer.from(genuine, "base64url");
    bytes[20] = bytes[20]! ^ 0x01;
    const tampered = { ...assertion, response: { ...assertion.response, signature: bytes.toString("base64url") } };
    expect(
      (await call("/v1/auth/passkey/verify", { ceremonyId: options.body.ceremonyId, response: tampered })).status,
    ).toBe(401);
    const after = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "mfa.factor_failed"), eq(auditLogs.targetId, factor!.id)));
    expect(after.length).toBe(before.length + 1);
    expect(
      (await call("/v1/auth/passkey/verify", { ceremonyId: options.body.ceremonyId, response: assertion })).status,
    ).toBe(401);
  });
});
