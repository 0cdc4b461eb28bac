import { describe, expect, test } from "bun:test";
import { distinctLookups } from "./factors.ts";

describe("recovery codes", () => {
  test("lookups are drawn until all 10 differ, so a colliding draw never drops a code the user was shown", () => {
    const draws = [
      "aaaa",
      "aaaa",
      "bbbb",
      "aaaa",
      "cccc",
      "dddd",
      "dddd",
      "eeee",
      "ffff",
      "gggg",
      "hhhh",
      "hhhh",
      "jjjj",
      "kkkk",
    ];
    let next = 0;
    const lookups = distinctLookups(10, () => draws[next++]!);
    expect([...lookups]).toEqual(["aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff", "gggg", "hhhh", "jjjj", "kkkk"]);
    expect(next).toBe(draws.length);
  });
});
