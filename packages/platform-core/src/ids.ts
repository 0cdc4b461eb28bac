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

const CROCKFORD_CODES = Array.from(CROCKFORD, (character) => character.charCodeAt(0));
const encoded = new Array<number>(26);

function encodeBase32(bytes: Uint8Array): string {
  // 128 bits -> 26 characters; the first character carries only the top 3 bits (so it is 0-7): the
  // bits are read as if two zero bits came first. Plain numbers, not BigInt, and one string made
  // at the end: every request makes an id (its request id).
  let buffer = 0;
  let bits = 2;
  let at = 0;
  for (let index = 0; index < 16; index++) {
    buffer = (buffer << 8) | bytes[index]!;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      encoded[at++] = CROCKFORD_CODES[(buffer >>> bits) & 31]!;
    }
    buffer &= (1 << bits) - 1;
  }
  return String.fromCharCode.apply(null, encoded);
}

// Monotonic within a process (RFC 9562 §6.2, method 2): when a millisecond repeats, the 74 random
// bits of that millisecond's previous ID are incremented by a random step instead of drawn afresh,
// so IDs made in one millisecond still sort in creation order. The state is kept per millisecond
// (the most recent few) because callers pass their own clocks, whose IDs may interleave.
// The 74 bits are held as three plain numbers (12 + 30 + 32 bits), not a BigInt, and the random
// words come from a pool refilled 256 at a time: every request makes an id (its request id).
interface RandomState {
  /** The top 12 bits (rand_a). */
  a: number;
  /** The next 30 bits. */
  b: number;
  /** The low 32 bits. */
  c: number;
}
const lastRandomByMs = new Map<number, RandomState>();
const REMEMBERED_MILLISECONDS = 64;
const TWO_32 = 2 ** 32;
const TWO_30 = 2 ** 30;

const randomPool = new Uint32Array(256);
let randomPoolAt = randomPool.length;
function random32(): number {
  if (randomPoolAt === randomPool.length) {
    crypto.getRandomValues(randomPool);
    randomPoolAt = 0;
  }
  return randomPool[randomPoolAt++]!;
}

function nextRandom(nowMs: number): RandomState {
  const previous = lastRandomByMs.get(nowMs);
  let state: RandomState;
  // Incremented by a random 32-bit step; a value within 2^32 of the top is drawn afresh instead.
  if (previous !== undefined && !(previous.a === 0xfff && previous.b === TWO_30 - 1)) {
    state = { ...previous };
    state.c += random32() + 1;
    if (state.c >= TWO_32) {
      state.c -= TWO_32;
      state.b += 1;
      if (state.b === TWO_30) {
        state.b = 0;
        state.a += 1;
      }
    }
  } else {
    // Start low in the range (the top bit clear) so that many IDs fit into one millisecond.
    state = { a: random32() >>> 21, b: random32() >>> 2, c: random32() };
  }
  lastRandomByMs.delete(nowMs);
  lastRandomByMs.set(nowMs, state);
  if (lastRandomByMs.size > REMEMBERED_MILLISECONDS) lastRandomByMs.delete(lastRandomByMs.keys().next().value!);
  return state;
}

function uuidV7Bytes(nowMs: number): Uint8Array {
  const { a, b, c } = nextRandom(nowMs);
  const bytes = new Uint8Array(16);
  let ms = nowMs;
  for (let index = 5; index >= 0; index--) {
    bytes[index] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  // 12 bits of the random value after the version nibble, then the variant and 62 bits (b, then c).
  bytes[6] = 0x70 | (a >>> 8);
  bytes[7] = a & 0xff;
  bytes[8] = 0x80 | ((b >>> 24) & 0x3f); // RFC 9562 variant
  bytes[9] = (b >>> 16) & 0xff;
  bytes[10] = (b >>> 8) & 0xff;
  bytes[11] = b & 0xff;
  bytes[12] = c >>> 24;
  bytes[13] = (c >>> 16) & 0xff;
  bytes[14] = (c >>> 8) & 0xff;
  bytes[15] = c & 0xff;
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
