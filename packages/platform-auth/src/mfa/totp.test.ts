import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { generate } from "otplib";
import { checkTotp, newTotpSecret } from "./totp.ts";

/** An independent RFC 6238 generator (RFC 4226 dynamic truncation over HMAC-SHA-1), for cross-checking. */
function referenceTotp(secret: Buffer, epochSeconds: number, digits = 6): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(epochSeconds / 30)));
  const mac = createHmac("sha1", secret).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

function base32Decode(input: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const character of input.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(character).toString(2).padStart(5, "0");
  const bytes = [];
  for (let index = 0; index + 8 <= bits.length; index += 8) bytes.push(Number.parseInt(bits.slice(index, index + 8), 2));
  return Buffer.from(bytes);
}

describe("TOTP", () => {
  // RFC 6238 Appendix B, SHA-1, secret "12345678901234567890" (base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ).
  const RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
  const VECTORS: [number, string][] = [
    [59, "94287082"],
    [1111111109, "07081804"],
    [1111111111, "14050471"],
    [1234567890, "89005924"],
    [2000000000, "69279037"],
    [20000000000, "65353130"],
  ];

  test("otplib and our reference generator match the RFC 6238 test vectors", async () => {
    for (const [epoch, expected] of VECTORS) {
      expect(await generate({ strategy: "totp", secret: RFC_SECRET, epoch, digits: 8, algorithm: "sha1", period: 30 })).toBe(expected);
      expect(referenceTotp(base32Decode(RFC_SECRET), epoch, 8)).toBe(expected);
    }
  });

  test("accepts the current and the previous step only, and never a step twice", async () => {
    const secret = newTotpSecret();
    expect(base32Decode(secret).length).toBeGreaterThanOrEqual(20);
    const now = 1_800_000_015;
    const current = referenceTotp(base32Decode(secret), now);
    const previous = referenceTotp(base32Decode(secret), now - 30);
    const older = referenceTotp(base32Decode(secret), now - 60);
    const next = referenceTotp(base32Decode(secret), now + 30);
    const step = Math.floor(now / 30);
    expect(await checkTotp({ secret, code: current, epochSeconds: now, lastStep: null })).toBe(step);
    expect(await checkTotp({ secret, code: previous, epochSeconds: now, lastStep: null })).toBe(step - 1);
    expect(await checkTotp({ secret, code: older, epochSeconds: now, lastStep: null })).toBeUndefined();
    expect(await checkTotp({ secret, code: next, epochSeconds: now, lastStep: null })).toBeUndefined();
    // Once a step is accepted, it and every earlier step are dead.
    expect(await checkTotp({ secret, code: current, epochSeconds: now, lastStep: step })).toBeUndefined();
    expect(await checkTotp({ secret, code: previous, epochSeconds: now, lastStep: step - 1 })).toBeUndefined();
    expect(await checkTotp({ secret, code: current, epochSeconds: now, lastStep: step - 1 })).toBe(step);
    for (const bad of ["", "12345", "1234567", "abcdef", " 123456"]) expect(await checkTotp({ secret, code: bad, epochSeconds: now, lastStep: null })).toBeUndefined();
  });
});
