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

/**
 * The 26 characters are the 128 bits read after two zero bits, 5 bits a character. Then the first
 * 10 characters are the 48-bit millisecond alone, written once per millisecond, and the other 16
 * the 80 bits after it: version, rand_a, variant and the rest, made from plain numbers two
 * characters (10 bits) at a time from a table. Every request makes an id (its request id): this
 * takes a fifth of the time of encoding a 16-byte array.
 */
const PAIRS = Array.from({ length: 1024 }, (_, value) => CROCKFORD[value >>> 5]! + CROCKFORD[value & 31]!);
let timeMs = -1;
let timeChars = "";
function millisecondChars(ms: number): string {
  if (ms !== timeMs) {
    // 50 bits (two zero bits, then the 48-bit time): the top 20 and the low 30.
    const high = Math.floor(ms / 2 ** 30);
    const low = ms % 2 ** 30;
    timeChars =
      PAIRS[high >>> 10]! + PAIRS[high & 1023]! + PAIRS[low >>> 20]! + PAIRS[(low >>> 10) & 1023]! + PAIRS[low & 1023]!;
    timeMs = ms;
  }
  return timeChars;
}

/** 30 bits as 6 characters. */
const chars30 = (value: number) => PAIRS[value >>> 20]! + PAIRS[(value >>> 10) & 1023]! + PAIRS[value & 1023]!;

// Monotonic within a process (RFC 9562 §6.2, method 2): when a millisecond repeats, the 74 random
// bits of that millisecond's previous ID are incremented by a random step instead of drawn afresh,
// so IDs made in one millisecond still sort in creation order. The state is kept per millisecond
// (the most recent few) because callers pass their own clocks, whose IDs may interleave.
// The 74 bits are held as three plain numbers (12 + 30 + 32 bits), not a BigInt, and the random
// words come from a pool refilled 256 at a time.
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
/** The millisecond of the last id made, whose state is the map's newest entry. */
let lastMs = -1;

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
  // Incremented by a random step; a value within 2^32 of the top is drawn afresh instead.
  if (previous !== undefined && !(previous.a === 0xfff && previous.b === TWO_30 - 1)) {
    // In place: the map holds the state of each millisecond, and only its next id reads it.
    previous.c += random32() + 1;
    if (previous.c >= TWO_32) {
      previous.c -= TWO_32;
      previous.b += 1;
      if (previous.b === TWO_30) {
        previous.b = 0;
        previous.a += 1;
      }
    }
    // The newest entry stays the newest; another one is moved to the end (it was used last).
    if (nowMs !== lastMs) {
      lastRandomByMs.delete(nowMs);
      lastRandomByMs.set(nowMs, previous);
    }
    lastMs = nowMs;
    return previous;
  }
  // Start low in the range (the top bit clear) so that many IDs fit into one millisecond.
  const state = { a: random32() >>> 21, b: random32() >>> 2, c: random32() };
  lastRandomByMs.delete(nowMs);
  lastRandomByMs.set(nowMs, state);
  if (lastRandomByMs.size > REMEMBERED_MILLISECONDS) lastRandomByMs.delete(lastRandomByMs.keys().next().value!);
  lastMs = nowMs;
  return state;
}

/**
 * Creates a new ID of the given kind.
 * @example newId("user") // "usr_0690f9x1c7v2h8k3m4n5p6q7r8"
 */
export function newId<K extends IdKind>(kind: K, nowMs: number = Date.now()): Id<K> {
  const { a, b, c } = nextRandom(nowMs);
  // After the time: version 7 (4 bits), rand_a (12), the variant 0b10 (2), then b (30) and c (32).
  const head = 0x70000 | (a << 4) | 0b1000 | (b >>> 28);
  const middle = ((b & 0x0fffffff) << 2) | (c >>> 30);
  return `${ID_PREFIXES[kind]}_${millisecondChars(nowMs)}${PAIRS[head >>> 10]!}${PAIRS[head & 1023]!}${chars30(middle)}${chars30(c & 0x3fffffff)}` as Id<K>;
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
