import { createHash } from "node:crypto";
import { describe, expect, test } from "bun:test";
import {
  constantTimeEqual,
  createKeyRing,
  hmacSha256,
  parseEncryptionKeys,
  randomDigits,
  randomToken,
  sha256,
} from "./crypto.ts";

const key = (fill: number) => Buffer.alloc(32, fill).toString("base64");

describe("crypto", () => {
  test("random tokens carry at least 128 bits and refuse fewer", () => {
    expect(Buffer.from(randomToken(), "base64url").length).toBe(32);
    expect(Buffer.from(randomToken(16), "base64url").length).toBe(16);
    expect(() => randomToken(8)).toThrow();
    expect(new Set(Array.from({ length: 1000 }, () => randomToken())).size).toBe(1000);
  });

  test("random digits have the asked length and only digits", () => {
    for (let index = 0; index < 100; index++) expect(randomDigits(6)).toMatch(/^\d{6}$/);
  });

  test("sha256 and hmac match known vectors", () => {
    expect(sha256("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    // UTF-8 text and bytes hash as node:crypto hashes them (Bun's one-shot hash is used under Bun).
    expect(sha256("é漢字")).toBe(createHash("sha256").update("é漢字").digest("hex"));
    expect(sha256(new Uint8Array([0, 1, 255]))).toBe(
      createHash("sha256")
        .update(new Uint8Array([0, 1, 255]))
        .digest("hex"),
    );
    // RFC 4231 test case 2
    expect(hmacSha256("Jefe", "what do ya want for nothing?")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  test("constant-time equality", () => {
    expect(constantTimeEqual("abc", "abc")).toBe(true);
    expect(constantTimeEqual("abc", "abd")).toBe(false);
    expect(constantTimeEqual("abc", "abcd")).toBe(false);
    expect(constantTimeEqual("abcd", "abc")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
    expect(constantTimeEqual("", "a")).toBe(false);
    // UTF-16 units compared as they are: two lone surrogates are not one replacement character.
    expect(constantTimeEqual("\ud800", "\udc00")).toBe(false);
    expect(constantTimeEqual("é", "e\u0301")).toBe(false);
  });

  test("the key ring encrypts with the newest key and decrypts with any", () => {
    const oldRing = createKeyRing(parseEncryptionKeys(`v1:${key(1)}`));
    const rotated = createKeyRing(parseEncryptionKeys(`v2:${key(2)},v1:${key(1)}`));
    const old = oldRing.encrypt("totp-secret", "mfa_1");
    expect(old.startsWith("v1.")).toBe(true);
    expect(rotated.decrypt(old, "mfa_1")).toBe("totp-secret");
    const fresh = rotated.encrypt("totp-secret", "mfa_1");
    expect(fresh.startsWith("v2.")).toBe(true);
    expect(rotated.decrypt(fresh, "mfa_1")).toBe("totp-secret");
    expect(() => oldRing.decrypt(fresh, "mfa_1")).toThrow();
  });

  test("tampering, a wrong key or wrong associated data fails to decrypt", () => {
    const ring = createKeyRing(parseEncryptionKeys(`v1:${key(1)}`));
    const sealed = ring.encrypt("secret", "a");
    expect(() => ring.decrypt(sealed, "b")).toThrow();
    const [version, iv, body] = sealed.split(".");
    const flipped = Buffer.from(body!, "base64url");
    flipped[0] = flipped[0]! ^ 1;
    expect(() => ring.decrypt(`${version}.${iv}.${flipped.toString("base64url")}`, "a")).toThrow();
    expect(() => createKeyRing(parseEncryptionKeys(`v1:${key(9)}`)).decrypt(sealed, "a")).toThrow();
  });

  test("key parsing rejects short keys, duplicates and garbage", () => {
    expect(() => parseEncryptionKeys("v1:abcd")).toThrow(/32 bytes/);
    expect(() => parseEncryptionKeys(`v1:${key(1)},v1:${key(2)}`)).toThrow(/unique/);
    expect(() => parseEncryptionKeys("")).toThrow();
    expect(() => parseEncryptionKeys(key(1))).toThrow();
  });
});
