import {
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  errors as joseErrors,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from "jose";
import { createPrivateKey, sign as signEd25519, type KeyObject } from "node:crypto";
import { eq, inArray, sql } from "drizzle-orm";
import {
  newId,
  notify,
  PlatformError,
  sha256,
  type AuditLog,
  type Clock,
  type Config,
  type Database,
  type KeyRing,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import { signingKeys } from "../schema.ts";
import type { SessionRow, Sessions } from "../sessions/sessions.ts";
import { scopeCovers } from "./api-keys.ts";

const base64url = (text: string) => Buffer.from(text).toString("base64url");

export const ALGORITHM = "EdDSA";
export const ACCESS_TOKEN_TYPE = "at+jwt";
/** Clock skew tolerated on `exp`, `nbf` and `iat`. */
export const CLOCK_SKEW_SECONDS = 60;
/** Nodes reload their keys when this channel fires (a rotation on any node). */
export const SIGNING_KEYS_CHANNEL = "burrow_signing_keys";

export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface SigningKeys {
  /** Reads the keys from the database into memory, creating the first one if there is none. */
  load(): Promise<void>;
  /** Signs with the active key. No database read: keys are held in memory. */
  sign(
    claims: Record<string, unknown> & { sub: string; sid: string },
  ): Promise<{ token: string; jti: string; expiresIn: number }>;
  /**
   * Verifies signature, type, issuer, audience and times; throws 401 `invalid_token` otherwise. A
   * token verified before (BURROW_SESSION_CACHE) is answered from memory until its `exp`.
   */
  verify(token: string): Promise<AccessTokenClaims>;
  /** `verify`'s answer when a token was verified before and is held in memory; else undefined. */
  verified(token: string): AccessTokenClaims | undefined;
  /** The public keys to publish: the active one and those retiring, until their tokens have expired. */
  jwks(): { keys: JWK[] };
  /** Makes a new active key; the previous one keeps verifying until its last token expires. */
  rotate(actor: { type: "user"; id: string } | { type: "system" }, request?: RequestContext): Promise<string>;
  /**
   * A signed-in operator rotates: they need the platform permission `signing_keys:rotate` (checked
   * first, so others learn nothing more) and a recent authentication on their session.
   */
  rotateAs(session: SessionRow, request: RequestContext): Promise<string>;
}

export const ROTATE_PERMISSION = "signing_keys:rotate";

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  publicKey: CryptoKey;
  status: "active" | "retiring";
  retiringAt: Date | null;
}

const KID = /^sgk_[0-9a-z]{26}$/;
/** Serialises key creation and rotation across nodes. */
const sqlLock = sql`select pg_advisory_xact_lock(${0x6b657973})`;
const FORBIDDEN_HEADERS = ["jwk", "jku", "x5u", "x5c", "crit"] as const;

/**
 * Verified claims by the token's SHA-256 (the token itself is not kept), so a client repeating its
 * token skips the signature check. Bounded; an entry is dropped at the token's `exp` — after that
 * the full check decides, with its clock tolerance — and all are dropped when the keys are reloaded
 * (a rotation anywhere), so no answer outlives the key that earned it. `maxEntries: undefined`: off.
 */
function createClaimsCache(maxEntries: number | undefined) {
  const entries = new Map<string, AccessTokenClaims>();
  return {
    get(hash: string, now: Date): AccessTokenClaims | undefined {
      const claims = entries.get(hash);
      if (claims === undefined) return undefined;
      if (now.getTime() < claims.exp * 1000) return claims;
      entries.delete(hash);
      return undefined;
    },
    store(hash: string, claims: AccessTokenClaims): void {
      if (maxEntries === undefined) return;
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
      entries.set(hash, claims);
    },
    clear: () => entries.clear(),
  };
}

export function createSigningKeys(options: {
  db: Database;
  config: Config;
  clock: Clock;
  keyRing: KeyRing;
  audit: AuditLog;
  sessions: Sessions;
  grantableScopes: (userId: UserId) => Promise<string[]>;
}): SigningKeys {
  const { db, config, clock, keyRing, audit } = options;
  const accessTtlSeconds = Math.floor(config.tokens.accessTtlMs / 1000);
  /** The key that signs, and its token header already encoded (it is the same for every token). */
  let active: { kid: string; privateKey: KeyObject; header: string } | undefined;
  let keys = new Map<string, LoadedKey>();
  let lastReload = 0;
  const verified = createClaimsCache(config.sessionCache?.maxEntries);

  /** A retiring key is published and trusted until every token it signed has expired. */
  const stillTrusted = (key: LoadedKey, now: Date) =>
    key.status === "active" ||
    (key.retiringAt !== null &&
      now.getTime() < key.retiringAt.getTime() + (accessTtlSeconds + CLOCK_SKEW_SECONDS) * 1000);

  async function createKey(tx: Database): Promise<void> {
    const { publicKey, privateKey } = await generateKeyPair(ALGORITHM, { crv: "Ed25519", extractable: true });
    const kid = newId("signingKey", clock.now().getTime());
    const publicJwk = await exportJWK(publicKey);
    const privateJwk = await exportJWK(privateKey);
    await tx.insert(signingKeys).values({
      kid,
      algorithm: ALGORITHM,
      publicJwk: { kty: publicJwk.kty!, crv: publicJwk.crv!, x: publicJwk.x! },
      privateKeyEncrypted: keyRing.encrypt(JSON.stringify(privateJwk), `signing-key:${kid}`),
      status: "active",
      createdAt: clock.now(),
    });
  }

  async function load(): Promise<void> {
    let rows = await db
      .select()
      .from(signingKeys)
      .where(inArray(signingKeys.status, ["active", "retiring"]));
    if (!rows.some((row) => row.status === "active")) {
      await db.transaction(async (tx) => {
        // Two nodes starting at once: the advisory lock lets one create the key.
        await tx.execute(sqlLock);
        const [existing] = await tx
          .select({ kid: signingKeys.kid })
          .from(signingKeys)
          .where(eq(signingKeys.status, "active"));
        if (existing === undefined) await createKey(tx);
      });
      rows = await db
        .select()
        .from(signingKeys)
        .where(inArray(signingKeys.status, ["active", "retiring"]));
    }
    const next = new Map<string, LoadedKey>();
    let nextActive: typeof active;
    for (const row of rows) {
      const publicJwk = { ...row.publicJwk, kid: row.kid, alg: ALGORITHM, use: "sig" } as JWK;
      next.set(row.kid, {
        kid: row.kid,
        publicJwk,
        publicKey: (await importJWK(publicJwk, ALGORITHM)) as CryptoKey,
        status: row.status as "active" | "retiring",
        retiringAt: row.retiringAt,
      });
      if (row.status === "active" && (nextActive === undefined || row.kid > nextActive.kid)) {
        const privateJwk = JSON.parse(keyRing.decrypt(row.privateKeyEncrypted, `signing-key:${row.kid}`)) as JWK;
        nextActive = {
          kid: row.kid,
          privateKey: createPrivateKey({ key: privateJwk as JsonWebKey, format: "jwk" }),
          header: base64url(JSON.stringify({ alg: ALGORITHM, kid: row.kid, typ: ACCESS_TOKEN_TYPE })),
        };
      }
    }
    keys = next;
    active = nextActive;
    lastReload = Date.now();
    verified.clear();
  }

  async function keyFor(header: Record<string, unknown>): Promise<CryptoKey> {
    for (const name of FORBIDDEN_HEADERS)
      if (name in header)
        throw new PlatformError("invalid_token", { detail: `The token header may not carry ${name}.` });
    const kid = header.kid;
    if (typeof kid !== "string" || !KID.test(kid))
      throw new PlatformError("invalid_token", { detail: "Unknown signing key." });
    let key = keys.get(kid);
    // A key made by another node since our last load: reload once, at most every 10 seconds.
    if (key === undefined && Date.now() - lastReload > 10_000) {
      await load();
      key = keys.get(kid);
    }
    if (key === undefined || !stillTrusted(key, clock.now()))
      throw new PlatformError("invalid_token", { detail: "Unknown signing key." });
    return key.publicKey;
  }

  const service: SigningKeys = {
    load,

    async sign(claims) {
      if (active === undefined) await load();
      const jti = crypto.randomUUID();
      const now = Math.floor(clock.now().getTime() / 1000);
      // A compact JWS signed with node:crypto: jose signs through WebCrypto, which took 50-60 µs a
      // token here against 14-18 µs (every refresh and token grant signs one). jose verifies.
      const { header, privateKey } = active!;
      const payload = {
        ...claims,
        jti,
        iss: config.publicUrl,
        aud: config.tokens.audience,
        iat: now,
        exp: now + accessTtlSeconds,
      };
      const input = `${header}.${base64url(JSON.stringify(payload))}`;
      const token = `${input}.${signEd25519(null, Buffer.from(input), privateKey).toString("base64url")}`;
      return { token, jti, expiresIn: accessTtlSeconds };
    },

    verified: (token) => verified.get(sha256(token), clock.now()),

    async verify(token) {
      const hash = sha256(token);
      const known = verified.get(hash, clock.now());
      if (known !== undefined) return known;
      let header: Record<string, unknown>;
      try {
        header = decodeProtectedHeader(token) as Record<string, unknown>;
      } catch {
        throw new PlatformError("invalid_token");
      }
      // Only EdDSA, whatever the header says: `none` and HMAC-with-the-public-key never get a key.
      if (header.alg !== ALGORITHM)
        throw new PlatformError("invalid_token", { detail: "Unsupported token algorithm." });
      const key = await keyFor(header);
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          typ: ACCESS_TOKEN_TYPE,
          issuer: config.publicUrl,
          audience: config.tokens.audience,
          clockTolerance: CLOCK_SKEW_SECONDS,
          currentDate: clock.now(),
          requiredClaims: ["sub", "sid", "jti", "iat", "exp"],
        });
        // Frozen: every later request with this token is handed the same object.
        const claims = Object.freeze(payload) as AccessTokenClaims;
        verified.store(hash, claims);
        return claims;
      } catch (error) {
        const detail = error instanceof joseErrors.JWTExpired ? "The token has expired." : "The token is not valid.";
        throw new PlatformError("invalid_token", { detail });
      }
    },

    jwks() {
      const now = clock.now();
      return { keys: [...keys.values()].filter((key) => stillTrusted(key, now)).map((key) => key.publicJwk) };
    },

    async rotateAs(session, request) {
      if (
        !(await options.grantableScopes(session.userId as UserId)).some((held) =>
          scopeCovers([held], ROTATE_PERMISSION),
        )
      )
        throw new PlatformError("forbidden", { detail: `This needs the ${ROTATE_PERMISSION} permission.` });
      options.sessions.assertRecent(session);
      return service.rotate({ type: "user", id: session.userId }, request);
    },

    async rotate(actor, request = {}) {
      const now = clock.now();
      await db.transaction(async (tx) => {
        await tx.execute(sqlLock);
        // Keys whose last tokens have expired leave the published set for good.
        const retiring = await tx.select().from(signingKeys).where(eq(signingKeys.status, "retiring"));
        for (const row of retiring) {
          if (
            row.retiringAt !== null &&
            now.getTime() >= row.retiringAt.getTime() + (accessTtlSeconds + CLOCK_SKEW_SECONDS) * 1000
          ) {
            await tx.update(signingKeys).set({ status: "retired", retiredAt: now }).where(eq(signingKeys.kid, row.kid));
          }
        }
        await tx
          .update(signingKeys)
          .set({ status: "retiring", retiringAt: now })
          .where(eq(signingKeys.status, "active"));
        await createKey(tx);
        await audit.record(tx, { action: "signing_key.rotated", actor }, request);
        await notify(tx, SIGNING_KEYS_CHANNEL, "rotated");
      });
      await load();
      return active!.kid;
    },
  };
  return service;
}
