import { describe, expect, test } from "bun:test";
import { idSchema, isId, newId } from "./ids.ts";

describe("ids", () => {
  test("have the prefix of their kind and 26 base32 characters", () => {
    const id = newId("user");
    expect(id).toMatch(/^usr_[0-7][0-9a-hjkmnp-tv-z]{25}$/);
    expect(isId("user", id)).toBe(true);
  });

  test("sort by creation time as plain strings", () => {
    const earlier = newId("session", 1_700_000_000_000);
    const later = newId("session", 1_700_000_000_001);
    const muchLater = newId("session", 1_800_000_000_000);
    expect([muchLater, later, earlier].sort()).toEqual([earlier, later, muchLater]);
  });

  test("made in the same millisecond still sort in creation order", () => {
    const ids = Array.from({ length: 1000 }, () => newId("user", 1_750_000_000_000));
    expect([...ids].sort()).toEqual(ids);
  });

  test("stay ordered when IDs from two clocks interleave", () => {
    const frozen: string[] = [];
    for (let index = 0; index < 200; index++) {
      frozen.push(newId("message", 1_750_000_000_000));
      newId("request");
    }
    expect([...frozen].sort()).toEqual(frozen);
  });

  test("carry UUIDv7's version and variant bits, after the millisecond in the first 48", () => {
    for (const ms of [0, 1, 1_750_000_000_123, 2 ** 48 - 1, undefined]) {
      for (let repeat = 0; repeat < 50; repeat++) {
        const before = Date.now();
        const body = newId("user", ms).slice(4);
        let value = 0n;
        for (const character of body)
          value = value * 32n + BigInt("0123456789abcdefghjkmnpqrstvwxyz".indexOf(character));
        const hex = value.toString(16).padStart(32, "0");
        if (ms === undefined) expect(parseInt(hex.slice(0, 12), 16)).toBeGreaterThanOrEqual(before);
        else expect(parseInt(hex.slice(0, 12), 16)).toBe(ms);
        expect(hex[12]).toBe("7");
        expect(["8", "9", "a", "b"]).toContain(hex[16]!);
      }
    }
  });

  test("are unique", () => {
    const ids = new Set(Array.from({ length: 5000 }, () => newId("job", 1)));
    expect(ids.size).toBe(5000);
  });

  test("schemas reject malformed and wrong-kind ids", () => {
    const schema = idSchema("user");
    expect(schema.safeParse(newId("user")).success).toBe(true);
    for (const bad of [
      newId("session"),
      "usr_",
      "usr_123",
      `usr_${"z".repeat(26)}`,
      "usr_0000000000000000000000000I",
      42,
      null,
      `${newId("user")}x`,
    ]) {
      expect(schema.safeParse(bad).success).toBe(false);
    }
  });
});
