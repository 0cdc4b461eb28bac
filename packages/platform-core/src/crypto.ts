import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";

/** Random bytes as base64url. 32 bytes (256 bits) by default; never fewer than 16 (128 bits). */
export function randomToken(bytes = 32): string {
  if (bytes < 16) throw new RangeError("A token needs at least 128 bits of randomness");
  return randomBytes(bytes).toString("base64url");
}

/** A uniformly random numeric code of `digits` digits (for one-time codes). */
export function randomDigits(digits: number): string {
  let out = "";
  while (out.length < digits) {
    // Rejection sampling keeps every digit uniform (no modulo bias).
    const byte = randomBytes(1)[0]!;
    if (byte < 250) out += String(byte % 10);
  }
  return out;
}

/** SHA-256 of a UTF-8 string or bytes, as lower-case hex. Enough for secrets of ≥128 bits. */
export function sha256(input: string | Uint8Array): string {
  // Bun's one-shot hash takes a third of node:crypto's createHash chain (every session check hashes
  // the presented secret); node:crypto where Bun is not the runtime.
  return typeof Bun === "undefined"
    ? createHash("sha256").update(input).digest("hex")
    : (Bun.SHA256.hash(input, "hex") as string);
}

/** HMAC-SHA-256 of `input` under `key`, as lower-case hex. */
export function hmacSha256(key: string | Uint8Array, input: string | Uint8Array): string {
  return createHmac("sha256", key).update(input).digest("hex");
}

/**
 * Compares two strings in time that depends only on `left`'s length, not on where they differ.
 * UTF-16 units are compared in place (no buffers: the cached session check compares a hash on every
 * request); on a length mismatch `left` is compared with itself, so the work is the same.
 */
export function constantTimeEqual(left: string, right: string): boolean {
  const other = left.length === right.length ? right : left;
  let difference = left.length ^ right.length;
  for (let i = 0; i < left.length; i++) difference |= left.charCodeAt(i) ^ other.charCodeAt(i);
  return difference === 0;
}

/** One AES-256 key of the ring: a version label and 32 bytes. */
export interface EncryptionKey {
  version: string;
  key: Uint8Array;
}

/**
 * AES-256-GCM with a versioned key ring. Encrypts with the newest (first) key and decrypts with
 * any listed key, so a key is rotated in by putting it first; values under older keys stay readable while listed.
 * Ciphertext format: `<version>.<iv base64url>.<ciphertext+tag base64url>`.
 */
export interface KeyRing {
  encrypt(plaintext: string, associatedData?: string): string;
  decrypt(ciphertext: string, associatedData?: string): string;
}

const VERSION_PATTERN = /^[A-Za-z0-9_-]{1,16}$/;

/**
 * Parses `BURROW_ENCRYPTION_KEYS`: comma-separated `version:base64key` entries, newest first.
 * @example parseEncryptionKeys("v2:<32 bytes base64>,v1:<32 bytes base64>")
 */
export function parseEncryptionKeys(value: string): EncryptionKey[] {
  const keys = value
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const separator = entry.indexOf(":");
      const version = entry.slice(0, separator);
      const key = Buffer.from(entry.slice(separator + 1), "base64");
      if (separator < 1 || !VERSION_PATTERN.test(version))
        throw new Error("each key must be written version:base64key");
      if (key.length !== 32) throw new Error(`key ${version} must be 32 bytes (base64 of 32 random bytes)`);
      return { version, key: new Uint8Array(key) };
    });
  if (keys.length === 0) throw new Error("at least one key is required");
  if (new Set(keys.map((key) => key.version)).size !== keys.length) throw new Error("key versions must be unique");
  return keys;
}

export function createKeyRing(keys: readonly EncryptionKey[]): KeyRing {
  const newest = keys[0];
  if (newest === undefined) throw new Error("A key ring needs at least one key");
  const byVersion = new Map(keys.map((key) => [key.version, key.key]));

  function encrypt(plaintext: string, associatedData = ""): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", newest!.key, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `${newest!.version}.${iv.toString("base64url")}.${body.toString("base64url")}`;
  }

  function decrypt(ciphertext: string, associatedData = ""): string {
    const [version, ivText, bodyText] = ciphertext.split(".");
    const key = version === undefined ? undefined : byVersion.get(version);
    if (key === undefined || ivText === undefined || bodyText === undefined)
      throw new Error("Unknown key version or malformed ciphertext");
    const body = Buffer.from(bodyText, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(ivText, "base64url"));
    decipher.setAAD(Buffer.from(associatedData));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString("utf8");
  }

  return {
    encrypt,
    decrypt,
  };
}
