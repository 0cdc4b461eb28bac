// Helpers for tests: an independent TOTP generator, and auth composed over a test database.
import { createHmac } from "node:crypto";
import {
  createAuditLog,
  createKeyRing,
  isPlatformError,
  loadConfig,
  newId,
  silentLogger,
  type AuditLog,
  type Config,
  type DatabaseHandle,
  type KeyRing,
  type UserId,
} from "@burrow/platform-core";
import { createTestClock, createTestDatabase, type TestClock } from "@burrow/platform-core/testing";
import { createEmail, type Email } from "@burrow/platform-email";
import { createAuth, type Auth, type CreateAuthOptions } from "./index.ts";
import { createPasswordHasher, type PasswordHasher } from "./passwords/hashing.ts";
import { users } from "./schema.ts";
import type { SessionRow } from "./sessions/sessions.ts";

/** Decodes RFC 4648 base32 (what authenticator apps are given). */
export function base32Decode(input: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const character of input.replace(/=+$/, "").toUpperCase())
    bits += alphabet.indexOf(character).toString(2).padStart(5, "0");
  const bytes: number[] = [];
  for (let index = 0; index + 8 <= bits.length; index += 8)
    bytes.push(Number.parseInt(bits.slice(index, index + 8), 2));
  return Buffer.from(bytes);
}

/**
 * An RFC 6238 generator written apart from otplib (RFC 4226 dynamic truncation over HMAC-SHA-1), so
 * tests can check Burrow's TOTP against an independent implementation.
 */
export function referenceTotp(secretBase32: string, epochSeconds: number, digits = 6): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(epochSeconds / 30)));
  const mac = createHmac("sha1", base32Decode(secretBase32)).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/** The environment unit tests run auth under: fixed secrets, no data directory, verification off. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: "test",
    BURROW_SECRET: "x".repeat(40),
    BURROW_ENCRYPTION_KEYS: `v1:${Buffer.alloc(32, 3).toString("base64")}`,
    BURROW_DATA_DIR: "/nonexistent-test-data-dir",
    BURROW_EMAIL_VERIFICATION: "off",
    ...env,
  });
}

/** Auth composed over a fresh test database (PGlite, or PostgreSQL when DATABASE_URL is set). */
export interface TestAuth {
  handle: DatabaseHandle;
  config: Config;
  clock: TestClock;
  audit: AuditLog;
  keyRing: KeyRing;
  email: Email;
  auth: Auth;
  /**
   * A new account with an address of its own and a session signed in by password (inserted, not signed
   * up: no mail, no lockout); with `password`, that is its password.
   */
  newAccount(options?: { password?: string }): Promise<{ userId: UserId; email: string; session: SessionRow }>;
}

/**
 * Composes auth as the app does, for tests beside the code; close `handle` after.
 * @example const { handle, auth, clock } = await createTestAuth({ env: { BURROW_MFA_LOCKOUT: "10/15m" } });
 */
export async function createTestAuth(
  options: {
    env?: Record<string, string>;
    clock?: TestClock;
    access?: CreateAuthOptions["access"];
    hasher?: CreateAuthOptions["hasher"];
  } = {},
): Promise<TestAuth> {
  const config = testConfig(options.env);
  const clock = options.clock ?? createTestClock();
  const handle = await createTestDatabase();
  const keyRing = createKeyRing(config.encryptionKeys);
  const audit = createAuditLog({ clock, secret: config.secret, storeRawIp: false });
  const email = createEmail({ db: handle.db, config, clock, keyRing, log: silentLogger });
  const parts = { db: handle.db, config, clock, audit, keyRing, email: email.outbox, sms: email.sms };
  const auth = createAuth({
    ...parts,
    ...(options.access ? { access: options.access } : {}),
    ...(options.hasher ? { hasher: options.hasher } : {}),
  });
  let accounts = 0;
  const newAccount: TestAuth["newAccount"] = async ({ password } = {}) => {
    const userId = newId("user") as UserId;
    const address = `account-${++accounts}@example.com`;
    await handle.db
      .insert(users)
      .values({ id: userId, email: address, emailNormalized: address, createdAt: clock.now(), updatedAt: clock.now() });
    if (password !== undefined) await auth.setPassword(handle.db, { id: userId, email: address, name: null }, password);
    const { session } = await auth.sessions.create(handle.db, { userId, methods: ["password"], request: {} });
    return { userId, email: address, session };
  };
  return { handle, config, clock, audit, keyRing, email, auth, newAccount };
}

/** Burrow's own hasher, counting the hashes and verifications it has made: for tests of where a flow hashes. */
export function countingHasher(): PasswordHasher & { readonly hashes: number; readonly verifies: number } {
  const hasher = createPasswordHasher();
  let hashes = 0;
  let verifies = 0;
  return {
    ...hasher,
    hash: async (password) => {
      const hash = await hasher.hash(password);
      hashes++;
      return hash;
    },
    verify: async (password, hash, caller) => {
      const matches = await hasher.verify(password, hash, caller);
      verifies++;
      return matches;
    },
    get hashes() {
      return hashes;
    },
    get verifies() {
      return verifies;
    },
  };
}

/**
 * How many calls a race test fires at once: more than the test pool's 5 connections, so on PostgreSQL
 * some wait for a connection mid-race too (PGlite runs them one after another).
 */
export const RACERS = 8;
/** A race test's time limit when every call hashes with Argon2id (passwords, recovery codes): slow on a loaded machine. */
export const HASHING_RACE_MS = 120_000;

/**
 * Fires the calls at once: what those that succeeded answered (and their indexes), and the codes of
 * the refusals. Anything but a PlatformError (a deadlock, a unique violation, a TypeError: a 500 at the
 * edge) is thrown.
 */
export async function atOnce<T>(calls: (() => Promise<T>)[]): Promise<{ won: T[]; winners: number[]; lost: string[] }> {
  const settled = await Promise.allSettled(calls.map((call) => call()));
  const unexpected = settled.flatMap((result) =>
    result.status === "rejected" && !isPlatformError(result.reason) ? [result.reason as unknown] : [],
  );
  if (unexpected.length > 0)
    throw new AggregateError(unexpected, `not refused with a PlatformError: ${unexpected.map(String).join("; ")}`);
  return {
    won: settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : [])),
    winners: settled.flatMap((result, index) => (result.status === "fulfilled" ? [index] : [])),
    lost: settled.flatMap((result) =>
      result.status === "rejected" && isPlatformError(result.reason) ? [result.reason.code] : [],
    ),
  };
}
