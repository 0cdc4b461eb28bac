import { z } from "zod";

/**
 * Prefixed, time-sortable identifiers: `<prefix>_<26 chars>` where the 26 characters are a
 * UUIDv7 written in lower-case Crockford base32. UUIDv7 starts with a millisecond timestamp and
 * base32 keeps byte order, so IDs sort by creation time as plain strings (good B-tree locality).
 */
export const ID_PREFIXES = {
  user: "usr",
  session: "ses",
  organization: "org",
  audit: "aud",
  job: "job",
  email: "eml",
  phone: "phn",
  token: "tok",
  apiKey: "key",
  role: "rol",
  invitation: "inv",
  elevation: "elv",
  factor: "mfa",
  recoveryCode: "rcv",
  mfaChallenge: "mfc",
  webauthnChallenge: "wac",
  plan: "pln",
  subscription: "sub",
  override: "ovr",
  refreshFamily: "rtf",
  refreshToken: "rft",
  signingKey: "sgk",
  message: "msg",
  template: "tpl",
  webhook: "whk",
  webhookDelivery: "whd",
  device: "dev",
  securityEvent: "sev",
  request: "req",
  oauthState: "ost",
  oauthAccount: "oac",
} as const;

export type IdKind = keyof typeof ID_PREFIXES;
export type IdPrefix = (typeof ID_PREFIXES)[IdKind];

declare const brand: unique symbol;
/** A string known to be a well-formed ID of one kind. */
export type Id<K extends IdKind> = string & { readonly [brand]: K };

export type UserId = Id<"user">;
export type SessionId = Id<"session">;
export type OrganizationId = Id<"organization">;
export type AuditId = Id<"audit">;
export type JobId = Id<"job">;

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";
const BODY = /^[0-7][0-9abcdefghjkmnpqrstvwxyz]{25}$/;

function encodeBase32(bytes: Uint8Array): string {
  // 128 bits -> 26 characters; the first character carries only the top 3 bits (so it is 0-7): the
  // bits are read as if two zero bits came first. Plain numbers, not BigInt: every request makes an
  // id (its request id), and this runs in a fraction of the time.
  let out = "";
  let buffer = 0;
  let bits = 2;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

// Monotonic within a process (RFC 9562 §6.2, method 2): when a millisecond repeats, the 74 random
// bits of that millisecond's previous ID are incremented by a random step instead of drawn afresh,
// so IDs made in one millisecond still sort in creation order. The state is kept per millisecond
// (the most recent few) because callers pass their own clocks, whose IDs may interleave.
const lastRandomByMs = new Map<number, bigint>();
const REMEMBERED_MILLISECONDS = 64;
const RANDOM_BITS = 74n;
const RANDOM_MAX = (1n << RANDOM_BITS) - 1n;

function randomBits(): bigint {
  const bytes = crypto.getRandomValues(new Uint8Array(10));
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value & RANDOM_MAX;
}

function uuidV7Bytes(nowMs: number): Uint8Array {
  const previous = lastRandomByMs.get(nowMs);
  let random: bigint;
  if (previous !== undefined && previous < RANDOM_MAX - (1n << 32n)) {
    random = previous + BigInt(crypto.getRandomValues(new Uint32Array(1))[0]!) + 1n;
  } else {
    // Start low in the range so that many IDs fit into one millisecond.
    random = randomBits() >> 1n;
  }
  lastRandomByMs.delete(nowMs);
  lastRandomByMs.set(nowMs, random);
  if (lastRandomByMs.size > REMEMBERED_MILLISECONDS) lastRandomByMs.delete(lastRandomByMs.keys().next().value!);
  const bytes = new Uint8Array(16);
  let ms = nowMs;
  for (let index = 5; index >= 0; index--) {
    bytes[index] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  // 12 bits of the random value after the version nibble, then the variant and 62 bits.
  const high = Number(random >> 62n); // 12 bits
  bytes[6] = 0x70 | (high >> 8);
  bytes[7] = high & 0xff;
  let low = random & ((1n << 62n) - 1n);
  for (let index = 15; index >= 9; index--) {
    bytes[index] = Number(low & 0xffn);
    low >>= 8n;
  }
  bytes[8] = 0x80 | Number(low & 0x3fn); // RFC 9562 variant
  return bytes;
}

/**
 * Creates a new ID of the given kind.
 * @example newId("user") // "usr_0690f9x1c7v2h8k3m4n5p6q7r8"
 */
export function newId<K extends IdKind>(kind: K, nowMs: number = Date.now()): Id<K> {
  return `${ID_PREFIXES[kind]}_${encodeBase32(uuidV7Bytes(nowMs))}` as Id<K>;
}

/** True when `value` is a well-formed ID of `kind`. */
export function isId<K extends IdKind>(kind: K, value: unknown): value is Id<K> {
  if (typeof value !== "string") return false;
  const prefix = ID_PREFIXES[kind];
  return (
    value.length === prefix.length + 27 && value.startsWith(`${prefix}_`) && BODY.test(value.slice(prefix.length + 1))
  );
}

/** A zod schema accepting only well-formed IDs of one kind. */
export function idSchema<K extends IdKind>(kind: K): z.ZodType<Id<K>, string> {
  return z
    .string()
    .refine((value) => isId(kind, value), { message: `Expected a ${kind} id (${ID_PREFIXES[kind]}_…)` })
    .transform((value) => value as Id<K>);
}
