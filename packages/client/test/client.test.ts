import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { referenceTotp } from "@burrow/platform-auth/testing";
import {
  BurrowError,
  createBurrowClient,
  isBurrowError,
  memoryStorage,
  unwrap,
  type BurrowClient,
  type SignedOutEvent,
  type TokenStorage,
} from "../src/index.ts";
import { startBurrow, type RunningBurrow } from "./burrow.ts";

const PASSWORD = "purple submarine garden";
/** Past the access token's 10 minutes and the verifier's 60 seconds of skew. */
const ACCESS_TOKEN_EXPIRED = 12 * 60_000;

let burrow: RunningBurrow;
let counter = 0;
const newEmail = () => `client${++counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;

beforeAll(async () => {
  // No grace window: a refresh token spent twice is reuse, so a second refresh in a race would show.
  burrow = await startBurrow({ BURROW_REFRESH_GRACE: "0" });
});
afterAll(async () => {
  await burrow?.close();
});

/** A token-mode client whose storage and sign-out events the test can see. */
function tokenClient(): { client: BurrowClient; storage: TokenStorage; signedOut: SignedOutEvent[] } {
  const storage = memoryStorage();
  const signedOut: SignedOutEvent[] = [];
  const client = createBurrowClient({
    baseUrl: burrow.baseUrl,
    mode: "token",
    storage,
    onSignedOut: (event) => signedOut.push(event),
  });
  return { client, storage, signedOut };
}

const cookieClient = () => createBurrowClient({ baseUrl: burrow.baseUrl, mode: "cookie" });

/** A refresh as someone holding a copy of the token would send it, outside the client. */
const refreshByHand = (refreshToken: string) =>
  fetch(`${burrow.baseUrl}/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ grantType: "refresh_token", refreshToken }),
  });

async function storedTokens(storage: TokenStorage) {
  const tokens = await storage.get();
  if (tokens === null) throw new Error("the client holds no tokens");
  return tokens;
}

/** Adds an authenticator app through the client (a fresh sign-in counts as recent authentication). */
async function enrolTotp(client: BurrowClient): Promise<string> {
  const { factorId, secret } = unwrap(await client.api.POST("/v1/mfa/totp/enroll", { body: {} }));
  unwrap(await client.api.POST("/v1/mfa/totp/confirm", { body: { factorId, code: totpNow(secret) } }));
  // A step is accepted once: the sign-in that follows uses the next one.
  burrow.api.clock.advance(30_000);
  return secret;
}
const totpNow = (secret: string) => referenceTotp(secret, Math.floor(burrow.api.clock.now().getTime() / 1000));

describe("token mode", () => {
  test("sign-up signs in with tokens and leaves the account one session", async () => {
    const { client, storage } = tokenClient();
    const email = newEmail();
    const result = await client.signUp({ email, password: PASSWORD, name: "Ada" });
    if (result.status !== "signed_in") throw new Error(`expected signed_in, got ${result.status}`);
    expect(result.user.email).toBe(email);
    expect((await storedTokens(storage)).accessToken).toStartWith("eyJ");
    const me = unwrap(await client.api.GET("/v1/me"));
    expect(me.name).toBe("Ada");
    // The session sign-up started was ended; the tokens' own session is the one left.
    const live = await burrow.api.platform.auth.sessions.list(burrow.api.platform.db, result.user.id as never);
    expect(live.map((session) => session.id)).toEqual([result.session.id]);
  });

  test("sign-in, then the session and the typed API with the access token", async () => {
    const email = newEmail();
    await tokenClient().client.signUp({ email, password: PASSWORD });
    const { client } = tokenClient();
    const result = await client.signIn({ email, password: PASSWORD });
    expect(result).toMatchObject({ status: "signed_in", user: { email } });
    const session = await client.getSession();
    expect(session?.user.email).toBe(email);
    expect(session?.session.authMethods).toEqual(["password"]);
  });

  test("a wrong password is a typed invalid_credentials error", async () => {
    const email = newEmail();
    await tokenClient().client.signUp({ email, password: PASSWORD });
    const { client, storage } = tokenClient();
    const error = await client.signIn({ email, password: "not the password" }).catch((caught: unknown) => caught);
    expect(isBurrowError(error, "invalid_credentials")).toBe(true);
    expect(error).toMatchObject({ status: 401, code: "invalid_credentials" });
    expect(await storage.get()).toBeNull();
  });

  test("an invalid request is validation_failed with the field named", async () => {
    const { client } = tokenClient();
    const error = await client.signIn({ email: "not-an-address", password: PASSWORD }).catch((caught) => caught);
    if (!(error instanceof BurrowError)) throw error;
    expect(error.code).toBe("validation_failed");
    expect(error.status).toBe(400);
    expect(error.errors.map((field) => field.path)).toEqual(["email"]);
    expect(error.requestId).toBeString();
  });

  test("MFA: sign-in asks for a second factor, verifyMfa with a TOTP code gives tokens", async () => {
    const email = newEmail();
    const owner = cookieClient();
    await owner.signUp({ email, password: PASSWORD });
    const secret = await enrolTotp(owner);

    const { client, storage } = tokenClient();
    const first = await client.signIn({ email, password: PASSWORD });
    if (first.status !== "mfa_required") throw new Error(`expected mfa_required, got ${first.status}`);
    expect(first.methods).toContain("totp");
    expect(await storage.get()).toBeNull();
    const wrong = await client
      .verifyMfa({ mfaToken: first.mfaToken, method: "totp", code: "000000" })
      .catch((caught) => caught);
    expect(wrong).toMatchObject({ code: "invalid_code" });
    const done = await client.verifyMfa({ mfaToken: first.mfaToken, method: "totp", code: totpNow(secret) });
    expect(done.session.authMethods).toEqual(["password", "totp"]);
    expect((await storedTokens(storage)).refreshToken).toBeString();
    expect(unwrap(await client.api.GET("/v1/me")).email).toBe(email);
  });

  test("two requests with an expired access token share one refresh, and both succeed", async () => {
    const { client, storage, signedOut } = tokenClient();
    await client.signUp({ email: newEmail(), password: PASSWORD });
    const before = await storedTokens(storage);
    burrow.api.clock.advance(ACCESS_TOKEN_EXPIRED);
    const grantsBefore = burrow.grants.length;

    const [me, session] = await Promise.all([client.api.GET("/v1/me"), client.api.GET("/v1/auth/session")]);

    expect(me.response.status).toBe(200);
    expect(session.response.status).toBe(200);
    expect(burrow.grants.slice(grantsBefore)).toEqual(["refresh_token"]);
    const after = await storedTokens(storage);
    expect(after.accessToken).not.toBe(before.accessToken);
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(signedOut).toEqual([]);
    // A request after the race uses the new token as it is: no further refresh.
    expect((await client.api.GET("/v1/me")).response.status).toBe(200);
    expect(burrow.grants.length).toBe(grantsBefore + 1);
  });

  test("a refresh token used by someone else: reuse ends the session and the client is signed out", async () => {
    const { client, storage, signedOut } = tokenClient();
    await client.signUp({ email: newEmail(), password: PASSWORD });
    const copied = (await storedTokens(storage)).refreshToken;
    const thief = await refreshByHand(copied);
    expect(thief.status).toBe(200);
    const thiefTokens = (await thief.json()) as { refreshToken: string };
    burrow.api.clock.advance(ACCESS_TOKEN_EXPIRED);

    const error = await client.api.GET("/v1/me").catch((caught: unknown) => caught);

    expect(isBurrowError(error, "invalid_token")).toBe(true);
    expect(signedOut).toMatchObject([{ reason: "session_ended", error: { code: "invalid_token", status: 401 } }]);
    expect(await storage.get()).toBeNull();
    expect(await client.getSession()).toBeNull();
    // The whole family went with it: the thief's newer token is dead too.
    expect((await refreshByHand(thiefTokens.refreshToken)).status).toBe(401);
  });

  test("a refresh that fails for a passing reason keeps the tokens", async () => {
    const storage = memoryStorage();
    const signedOut: SignedOutEvent[] = [];
    let refusing = false;
    const client = createBurrowClient({
      baseUrl: burrow.baseUrl,
      mode: "token",
      storage,
      onSignedOut: (event) => signedOut.push(event),
      // Burrow overloaded for a moment: its refresh answers 503.
      fetch: async (request) =>
        refusing && new URL(request.url).pathname === "/v1/auth/token"
          ? Response.json({ code: "service_unavailable", title: "Not ready", status: 503 }, { status: 503 })
          : fetch(request),
    });
    await client.signUp({ email: newEmail(), password: PASSWORD });
    const held = await storedTokens(storage);
    burrow.api.clock.advance(ACCESS_TOKEN_EXPIRED);
    refusing = true;
    expect(await client.api.GET("/v1/me").catch((caught) => caught)).toMatchObject({ code: "service_unavailable" });
    expect(await storage.get()).toEqual(held);
    expect(signedOut).toEqual([]);
    refusing = false;
    expect((await client.api.GET("/v1/me")).response.status).toBe(200);
  });

  test("sign-out ends the session and its refresh token", async () => {
    const { client, storage, signedOut } = tokenClient();
    await client.signUp({ email: newEmail(), password: PASSWORD });
    const { refreshToken } = await storedTokens(storage);
    await client.signOut();
    expect(signedOut).toEqual([{ reason: "sign_out" }]);
    expect(await storage.get()).toBeNull();
    expect(await client.getSession()).toBeNull();
    expect((await refreshByHand(refreshToken)).status).toBe(401);
    // Signing out again is no failure.
    await client.signOut();
    expect(signedOut.length).toBe(1);
  });
});

describe("cookie mode outside a browser", () => {
  test("sign-up, the session by cookie, an unsafe request past the CSRF rule, sign-out", async () => {
    const client = cookieClient();
    const email = newEmail();
    const result = await client.signUp({ email, password: PASSWORD });
    expect(result).toMatchObject({ status: "signed_in", user: { email } });
    expect((await client.getSession())?.user.email).toBe(email);
    // PATCH with the cookie: Burrow wants to see where it comes from, and the client says so.
    const renamed = unwrap(await client.api.PATCH("/v1/me", { body: { name: "Grace" } }));
    expect(renamed.name).toBe("Grace");
    await client.signOut();
    expect(await client.getSession()).toBeNull();
  });

  test("an origin Burrow does not allow is refused as csrf_rejected", async () => {
    const client = createBurrowClient({ baseUrl: burrow.baseUrl, mode: "cookie", origin: "https://evil.example" });
    const error = await client.signIn({ email: newEmail(), password: PASSWORD }).catch((caught) => caught);
    expect(error).toMatchObject({ status: 403, code: "csrf_rejected" });
  });

  test("MFA: sign-in asks for a second factor, verifyMfa sets the cookie", async () => {
    const email = newEmail();
    const owner = cookieClient();
    await owner.signUp({ email, password: PASSWORD });
    const secret = await enrolTotp(owner);
    const client = cookieClient();
    const first = await client.signIn({ email, password: PASSWORD });
    if (first.status !== "mfa_required") throw new Error(`expected mfa_required, got ${first.status}`);
    expect(await client.getSession()).toBeNull();
    await client.verifyMfa({ mfaToken: first.mfaToken, method: "totp", code: totpNow(secret) });
    expect((await client.getSession())?.session.authMethods).toEqual(["password", "totp"]);
  });
});
