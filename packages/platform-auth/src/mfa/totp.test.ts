import { describe, expect, test } from "bun:test";
import { generate } from "otplib";
import { base32Decode, referenceTotp } from "../test-auth.ts";
import { checkTotp, newTotpSecret } from "./totp.ts";

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
      expect(
        await generate({ strategy: "totp", secret: RFC_SECRET, epoch, digits: 8, algorithm: "sha1", period: 30 }),
      ).toBe(expected);
      expect(referenceTotp(RFC_SECRET, epoch, 8)).toBe(expected);
    }
  });

  test("accepts the current and the previous step only, and never a step twice", async () => {
    const secret = await newTotpSecret();
    expect(base32Decode(secret).length).toBeGreaterThanOrEqual(20);
    const now = 1_800_000_015;
    const current = referenceTotp(secret, now);
    const previous = referenceTotp(secret, now - 30);
    const older = referenceTotp(secret, now - 60);
    const next = referenceTotp(secret, now + 30);
    const step = Math.floor(now / 30);
    expect(await checkTotp({ secret, code: current, epochSeconds: now, lastStep: null })).toBe(step);
    expect(await checkTotp({ secret, code: previous, epochSeconds: now, lastStep: null })).toBe(step - 1);
    expect(await checkTotp({ secret, code: older, epochSeconds: now, lastStep: null })).toBeUndefined();
    expect(await checkTotp({ secret, code: next, epochSeconds: now, lastStep: null })).toBeUndefined();
    // Once a step is accepted, it and every earlier step are dead.
    expect(await checkTotp({ secret, code: current, epochSeconds: now, lastStep: step })).toBeUndefined();
    expect(await checkTotp({ secret, code: previous, epochSeconds: now, lastStep: step - 1 })).toBeUndefined();
    expect(await checkTotp({ secret, code: current, epochSeconds: now, lastStep: step - 1 })).toBe(step);
    for (const bad of ["", "12345", "1234567", "abcdef", " 123456"])
      expect(await checkTotp({ secret, code: bad, epochSeconds: now, lastStep: null })).toBeUndefined();
  });
});
