import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, importJWK, jwtVerify, SignJWT, type JWK } from "jose";
import { auditLogs } from "@burrow/platform-core/schema";
import { signingKeys } from "@burrow/platform-auth/schema";
import { createTokenVerifier, TokenVerificationError } from "@burrow/platform-auth/verify";
import {
  createTestApi,
  grantPlatformPermissions,
  ORIGIN,
  post,
  readProblem,
  sessionCookieFrom,
  signIn,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function passwordGrant(api: TestApi, user: TestUser) {
  const response = await post(api, "/v1/auth/token", {
    grantType: "password",
    email: user.email,
    password: user.password,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { accessToken: string; refreshToken: string; expiresIn: number; tokenType: string };
}
const refresh = (api: TestApi, refreshToken: string) =>
  post(api, "/v1/auth/token", { grantType: "refresh_token", refreshToken });

describe("access and refresh tokens", () => {
  let api: TestApi;
  let user: TestUser;
  beforeAll(async () => {
    api = await createTestApi();
    user = await signUpUser(api);
  });
  afterAll(() => api.close());

  test("the password grant returns a standard at+jwt the API accepts as Bearer", async () => {
    const tokens = await passwordGrant(api, user);
    expect(tokens.tokenType).toBe("Bearer");
    expect(tokens.expiresIn).toBe(600);
    expect(tokens.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const header = decodeProtectedHeader(tokens.accessToken);
    expect(header).toMatchObject({ alg: "EdDSA", typ: "at+jwt" });
    expect(header.kid).toMatch(/^sgk_/);
    const claims = decodeJwt(tokens.accessToken);
    expect(claims).toMatchObject({ iss: "http://localhost:3000", aud: "http://localhost:3000", sub: user.id });
    expect(claims.sid).toMatch(/^ses_/);
    expect(claims.exp! - claims.iat!).toBe(600);
    expect(typeof claims.jti).toBe("string");
    const session = await api.request("/v1/auth/session", { headers: bearer(tokens.accessToken) });
    expect(session.status).toBe(200);
    expect((await session.json()).user.id).toBe(user.id);
  });

  test("the password grant has sign-in's answers and lockout", async () => {
    const wrong = await post(api, "/v1/auth/token", {
      grantType: "password",
      email: user.email,
      password: "not the right password",
    });
    const unknown = await post(api, "/v1/auth/token", {
      grantType: "password",
      email: "nobody@example.com",
      password: "not the right password",
    });
    expect((await readProblem(wrong)).code).toBe("invalid_credentials");
    expect((await readProblem(unknown)).code).toBe("invalid_credentials");
    const locked = await signUpUser(api);
    for (let attempt = 0; attempt < 5; attempt++)
      await post(api, "/v1/auth/token", {
        grantType: "password",
        email: locked.email,
        password: "not the right password",
      });
    expect(
      (await post(api, "/v1/auth/token", { grantType: "password", email: locked.email, password: locked.password }))
        .status,
    ).toBe(429);
  });

  test("each refresh rotates; replaying a retired token revokes the family and its session", async () => {
    const first = await passwordGrant(api, user);
    const second = await (await refresh(api, first.refreshToken)).json();
    expect(second.refreshToken).not.toBe(first.refreshToken);
    const third = await (await refresh(api, second.refreshToken)).json();
    expect((await api.request("/v1/auth/session", { headers: bearer(third.accessToken) })).status).toBe(200);

    api.clock.advance(11_000);
    const replay = await refresh(api, first.refreshToken);
    expect(replay.status).toBe(401);
    expect((await readProblem(replay)).code).toBe("invalid_token");
    // The whole family and its session are gone.
    expect((await refresh(api, third.refreshToken)).status).toBe(401);
    expect((await api.request("/v1/auth/session", { headers: bearer(third.accessToken) })).status).toBe(401);
    const events = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "security.refresh_token_reuse"), eq(auditLogs.targetId, user.id)));
    expect(events.length).toBe(1);
  });

  test("the session grant mints a short token without a refresh token; reuse ends the family's session", async () => {
    const signedIn = await signIn(api, user.email, user.password);
    const cookie = sessionCookieFrom(signedIn);
    const minted = await (
      await post(api, "/v1/auth/token", { grantType: "session" }, { cookie, origin: ORIGIN })
    ).json();
    expect(minted.refreshToken).toBeUndefined();
    expect((await api.request("/v1/auth/session", { headers: bearer(minted.accessToken) })).status).toBe(200);
    // A password grant makes its own session; its family is bound to it.
    const pair = await passwordGrant(api, user);
    const sid = decodeJwt(pair.accessToken).sid as string;
    await refresh(api, pair.refreshToken);
    api.clock.advance(11_000);
    await refresh(api, pair.refreshToken);
    const list = await (await api.request("/v1/auth/sessions", { headers: { cookie } })).json();
    expect(list.data.some((session: { id: string }) => session.id === sid)).toBe(false);
  });

  test("parallel refreshes inside the grace window all succeed and the family survives", async () => {
    const pair = await passwordGrant(api, user);
    const results = await Promise.all([
      refresh(api, pair.refreshToken),
      refresh(api, pair.refreshToken),
      refresh(api, pair.refreshToken),
    ]);
    expect(results.map((response) => response.status)).toEqual([200, 200, 200]);
    const successors = await Promise.all(
      results.map(async (response) => (await response.json()).refreshToken as string),
    );
    expect(new Set(successors).size).toBe(3);
    api.clock.advance(9_000);
    expect((await refresh(api, pair.refreshToken)).status).toBe(200);
    for (const successor of successors) expect((await refresh(api, successor)).status).toBe(200);
  });

  test("refreshes far beyond the connection pool's size all complete, with nothing cached to mint from", async () => {
    // Each rotation holds a pool connection for its transaction; what it mints reads permissions.
    // Minting inside the transaction would leave every connection waiting for one more (this hung).
    const sessionId = decodeJwt((await passwordGrant(api, user)).accessToken).sid as string;
    const families = await Promise.all(
      Array.from({ length: 30 }, () =>
        api.platform.auth.refreshTokens.start(api.database.db, { sessionId, userId: user.id }),
      ),
    );
    api.platform.rbac.resolver.evict("*");
    const results = await Promise.all(families.map((refreshToken) => refresh(api, refreshToken)));
    expect(results.map((response) => response.status)).toEqual(families.map(() => 200));
  });

  test("sign-out and password change revoke the families at once", async () => {
    const pair = await passwordGrant(api, user);
    expect((await post(api, "/v1/auth/sign-out", {}, bearer(pair.accessToken))).status).toBe(204);
    expect((await refresh(api, pair.refreshToken)).status).toBe(401);
    expect((await api.request("/v1/auth/session", { headers: bearer(pair.accessToken) })).status).toBe(401);

    const changer = await signUpUser(api);
    const other = await passwordGrant(api, changer);
    expect(
      (
        await post(
          api,
          "/v1/auth/password/change",
          { currentPassword: changer.password, newPassword: "a changed passphrase" },
          changer.bearer,
        )
      ).status,
    ).toBe(204);
    expect((await refresh(api, other.refreshToken)).status).toBe(401);
  });

  test("suspension and deletion end the families at once", async () => {
    const suspended = await signUpUser(api);
    const deleted = await signUpUser(api);
    const one = await passwordGrant(api, suspended);
    const two = await passwordGrant(api, deleted);
    await api.platform.auth.users.suspend(api.platform.db, suspended.id as never, "system", {});
    await api.platform.auth.users.softDelete(api.platform.db, deleted.id as never, "system", {});
    for (const pair of [one, two]) {
      expect((await refresh(api, pair.refreshToken)).status).toBe(401);
      expect((await api.request("/v1/auth/session", { headers: bearer(pair.accessToken) })).status).toBe(401);
    }
  });

  test("token/revoke ends the family and its session; unknown tokens get the same answer", async () => {
    const pair = await passwordGrant(api, user);
    const revoked = await post(api, "/v1/auth/token/revoke", { refreshToken: pair.refreshToken });
    expect(await revoked.json()).toEqual({ revoked: true });
    expect((await refresh(api, pair.refreshToken)).status).toBe(401);
    expect((await api.request("/v1/auth/session", { headers: bearer(pair.accessToken) })).status).toBe(401);
    expect(await (await post(api, "/v1/auth/token/revoke", { refreshToken: "x".repeat(43) })).json()).toEqual({
      revoked: true,
    });
  });

  test("a refresh token unused for 7 days is dead", async () => {
    const pair = await passwordGrant(api, user);
    api.clock.advance(7 * 86_400_000);
    expect((await refresh(api, pair.refreshToken)).status).toBe(401);
  });

  test("refreshing keeps a family alive up to 30 days, not beyond", async () => {
    let pair = await passwordGrant(api, user);
    for (let day = 6; day < 30; day += 6) {
      api.clock.advance(6 * 86_400_000);
      const response = await refresh(api, pair.refreshToken);
      expect(response.status).toBe(200);
      pair = await response.json();
    }
    api.clock.advance(6 * 86_400_000);
    expect((await refresh(api, pair.refreshToken)).status).toBe(401);
  });

  test("introspection says whether a token is active right now, to a client with an introspect key only", async () => {
    const pair = await passwordGrant(api, user);
    // #14: no client credential, a session, or a key without the scope: refused, and nothing is said.
    expect((await readProblem(await post(api, "/v1/auth/introspect", { token: pair.accessToken }))).code).toBe(
      "unauthenticated",
    );
    const service = await signUpUser(api);
    expect(
      (await readProblem(await post(api, "/v1/auth/introspect", { token: pair.accessToken }, bearer(service.token))))
        .code,
    ).toBe("forbidden");
    const plain = await (
      await post(api, "/v1/api-keys", { name: "profile only", scopes: ["profile:read"] }, bearer(service.token))
    ).json();
    expect(
      (await readProblem(await post(api, "/v1/auth/introspect", { token: pair.accessToken }, bearer(plain.secret))))
        .code,
    ).toBe("forbidden");
    await grantPlatformPermissions(api, service.id, ["tokens:introspect"]);
    const key = await (
      await post(api, "/v1/api-keys", { name: "introspection", scopes: ["tokens:introspect"] }, bearer(service.token))
    ).json();
    const client = bearer(key.secret);
    const active = await (await post(api, "/v1/auth/introspect", { token: pair.accessToken }, client)).json();
    expect(active).toMatchObject({ active: true, sub: user.id, token_type: "access_token" });
    for (const token of [pair.refreshToken, user.token, "garbage", `${pair.accessToken}x`]) {
      expect(await (await post(api, "/v1/auth/introspect", { token }, client)).json()).toEqual({ active: false });
    }
    await post(api, "/v1/auth/sign-out", {}, bearer(pair.accessToken));
    expect(await (await post(api, "/v1/auth/introspect", { token: pair.accessToken }, client)).json()).toEqual({
      active: false,
    });
  });
});

describe("hostile access tokens", () => {
  let api: TestApi;
  let user: TestUser;
  let good: string;
  let privateKey: CryptoKey;
  let kid: string;
  let publicX: string;
  beforeAll(async () => {
    api = await createTestApi();
    user = await signUpUser(api);
    good = (await passwordGrant(api, user)).accessToken;
    // The test signs its own tokens with the real key, so only the property under test is wrong.
    const [row] = await api.platform.db.select().from(signingKeys).where(eq(signingKeys.status, "active"));
    kid = row!.kid;
    publicX = (row!.publicJwk as { x: string }).x;
    privateKey = (await importJWK(
      JSON.parse(api.platform.keyRing.decrypt(row!.privateKeyEncrypted, `signing-key:${kid}`)) as JWK,
      "EdDSA",
    )) as CryptoKey;
  });
  afterAll(() => api.close());

  const sid = () => decodeJwt(good).sid as string;
  const craft = async (options: {
    header?: Record<string, unknown>;
    claims?: Record<string, unknown>;
    iat?: number;
  }) => {
    const now = Math.floor(api.clock.now().getTime() / 1000);
    return new SignJWT({
      sub: user.id,
      sid: sid(),
      jti: crypto.randomUUID(),
      iss: "http://localhost:3000",
      aud: "http://localhost:3000",
      iat: now,
      exp: now + 600,
      ...options.claims,
    })
      .setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt", ...options.header } as { alg: string })
      .sign(privateKey);
  };
  const refused = async (token: string) => {
    const response = await api.request("/v1/auth/session", { headers: bearer(token) });
    expect(response.status).toBe(401);
    expect((await readProblem(response)).code).toBe("invalid_token");
  };
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

  test("a correctly crafted token is accepted (the harness itself is sound)", async () => {
    expect((await api.request("/v1/auth/session", { headers: bearer(await craft({})) })).status).toBe(200);
  });

  test("alg none in any casing, and HS256 keyed with our public key, are refused", async () => {
    const [, payload] = good.split(".");
    for (const alg of ["none", "None", "NONE", "nOnE"])
      await refused(`${b64({ alg, typ: "at+jwt", kid })}.${payload}.`);
    const hmacHeader = b64({ alg: "HS256", typ: "at+jwt", kid });
    const signature = new Bun.CryptoHasher("sha256", Buffer.from(publicX, "base64url"))
      .update(`${hmacHeader}.${payload}`)
      .digest("base64url");
    await refused(`${hmacHeader}.${payload}.${signature}`);
    const hmacWithJwkText = new Bun.CryptoHasher("sha256", JSON.stringify({ kty: "OKP", crv: "Ed25519", x: publicX }))
      .update(`${hmacHeader}.${payload}`)
      .digest("base64url");
    await refused(`${hmacHeader}.${payload}.${hmacWithJwkText}`);
  });

  test("jwk, jku and x5u headers are refused, even on a good signature", async () => {
    await refused(await craft({ header: { jwk: { kty: "OKP", crv: "Ed25519", x: publicX } } }));
    await refused(await craft({ header: { jku: "https://evil.example/jwks.json" } }));
    await refused(await craft({ header: { x5u: "https://evil.example/cert.pem" } }));
  });

  test("an unknown or path-like kid is refused", async () => {
    for (const bad of ["sgk_01m80w6abjfs8rxpmyhr2jmyty", "../../etc/passwd", "", "sgk_' or 1=1 --"])
      await refused(await craft({ header: { kid: bad } }));
    const withoutKid = `${b64({ alg: "EdDSA", typ: "at+jwt" })}.${good.split(".")[1]}.${good.split(".")[2]}`;
    await refused(withoutKid);
  });

  test("wrong iss, aud or typ is refused", async () => {
    await refused(await craft({ claims: { iss: "https://evil.example" } }));
    await refused(await craft({ claims: { aud: "https://other-service.example" } }));
    await refused(await craft({ header: { typ: "JWT" } }));
    await refused(await craft({ header: { typ: "at+JWT-not" } }));
  });

  test("expiry and not-before are enforced with 60 seconds of skew", async () => {
    const now = Math.floor(api.clock.now().getTime() / 1000);
    await refused(await craft({ claims: { iat: now - 1000, exp: now - 61 } }));
    expect(
      (await api.request("/v1/auth/session", { headers: bearer(await craft({ claims: { exp: now - 30 } })) })).status,
    ).toBe(200);
    await refused(await craft({ claims: { nbf: now + 120 } }));
    expect(
      (await api.request("/v1/auth/session", { headers: bearer(await craft({ claims: { nbf: now + 30 } })) })).status,
    ).toBe(200);
    const issued = await passwordGrant(api, user);
    api.clock.advance(600_000 + 61_000);
    await refused(issued.accessToken);
    api.clock.advance(-(600_000 + 61_000));
  });

  test("a modified or truncated signature, or a modified payload, is refused", async () => {
    const [header, payload, signature] = good.split(".") as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === "A" ? "B" : "A"}${signature.slice(11)}`;
    await refused(`${header}.${payload}.${flipped}`);
    await refused(`${header}.${payload}.${signature.slice(0, -4)}`);
    await refused(`${header}.${payload}.`);
    const forged = b64({ ...decodeJwt(good), sub: "usr_01m80w6a2kfrk8cgrdkafx9sz5" });
    await refused(`${header}.${forged}.${signature}`);
  });

  test("a refresh token, a session id or an API key in the URL is not an access token", async () => {
    const pair = await passwordGrant(api, user);
    await refused(pair.refreshToken);
    const inUrl = await api.request(`/v1/me?api_key=bk_key_01m80w6abjfs8rxpmyhr2jmyty_${"x".repeat(43)}`, {
      headers: bearer(good),
    });
    expect(inUrl.status).toBe(401);
    expect((await readProblem(inUrl)).code).toBe("invalid_token");
  });
});

describe("signing-key rotation and verifying elsewhere", () => {
  let api: TestApi;
  let server: ReturnType<typeof Bun.serve>;
  let jwksUrl: string;
  beforeAll(async () => {
    api = await createTestApi();
    server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) => api.app.fetch(request, { remoteAddress: "127.0.0.1" }),
    });
    jwksUrl = `http://127.0.0.1:${server.port}/.well-known/jwks.json`;
  });
  afterAll(async () => {
    await server.stop(true);
    await api.close();
  });

  test("an independent verifier, given only the JWKS URL, accepts our tokens", async () => {
    const user = await signUpUser(api);
    const { accessToken } = await passwordGrant(api, user);
    const response = await fetch(jwksUrl);
    expect(response.headers.get("cache-control")).toBe("public, max-age=300");
    const { payload } = await jwtVerify(accessToken, createRemoteJWKSet(new URL(jwksUrl)), {
      issuer: "http://localhost:3000",
      audience: "http://localhost:3000",
      currentDate: api.clock.now(),
    });
    expect(payload.sub).toBe(user.id);
  });

  test("rotation keeps old tokens verifiable until they expire, then drops the old key from the JWKS", async () => {
    const user = await signUpUser(api);
    const before = (await passwordGrant(api, user)).accessToken;
    const oldKid = decodeProtectedHeader(before).kid!;
    const newKid = await api.platform.auth.signingKeys.rotate({ type: "system" });
    expect(newKid).not.toBe(oldKid);
    const after = (await passwordGrant(api, user)).accessToken;
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    expect((await api.request("/v1/auth/session", { headers: bearer(before) })).status).toBe(200);
    const published = (await (await api.request("/.well-known/jwks.json")).json()).keys.map(
      (key: { kid: string }) => key.kid,
    );
    expect(published.sort()).toEqual([newKid, oldKid].sort());
    for (const key of (await (await api.request("/.well-known/jwks.json")).json()).keys) expect(key.d).toBeUndefined();

    api.clock.advance(600_000 + 61_000);
    const later = (await (await api.request("/.well-known/jwks.json")).json()).keys.map(
      (key: { kid: string }) => key.kid,
    );
    expect(later).toEqual([newKid]);
    const audit = await api.platform.db.select().from(auditLogs).where(eq(auditLogs.action, "signing_key.rotated"));
    expect(audit.length).toBe(1);
  });

  test("the verify helper checks tokens against the live JWKS and follows a rotation", async () => {
    const verify = createTokenVerifier({
      jwksUrl,
      issuer: "http://localhost:3000",
      audience: "http://localhost:3000",
      cooldownMs: 0,
      clockToleranceSeconds: 10 ** 9,
    });
    const user = await signUpUser(api);
    const first = (await passwordGrant(api, user)).accessToken;
    expect((await verify(first)).sub).toBe(user.id);
    await api.platform.auth.signingKeys.rotate({ type: "system" });
    const second = (await passwordGrant(api, user)).accessToken;
    expect((await verify(second)).sub).toBe(user.id);
    const error = await verify(`${second}x`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TokenVerificationError);
    expect((error as TokenVerificationError).code).toBe("token_invalid");
  });
});

describe("grace window turned off", () => {
  test("with BURROW_REFRESH_GRACE=0 a concurrent second use tears the family down", async () => {
    const api = await createTestApi({ BURROW_REFRESH_GRACE: "0" });
    try {
      const user = await signUpUser(api);
      const pair = await passwordGrant(api, user);
      expect((await refresh(api, pair.refreshToken)).status).toBe(200);
      expect((await refresh(api, pair.refreshToken)).status).toBe(401);
      expect((await api.request("/v1/auth/session", { headers: bearer(pair.accessToken) })).status).toBe(401);
    } finally {
      await api.close();
    }
  });
});
