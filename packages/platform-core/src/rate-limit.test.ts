import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DatabaseHandle } from "./database/index.ts";
import { consumeRateLimit } from "./rate-limit.ts";
import { createTestClock, createTestDatabase } from "./test-database.ts";

describe("rate limit", () => {
  let handle: DatabaseHandle;
  const clock = createTestClock();
  beforeAll(async () => {
    handle = await createTestDatabase();
  });
  afterAll(() => handle.close());

  test("allows the burst, then one request per window", async () => {
    const policy = { count: 3, windowMs: 1000 };
    const results = [];
    for (let index = 0; index < 4; index++) results.push(await consumeRateLimit(handle.db, clock, "ip:a", policy));
    expect(results.map((result) => result.allowed)).toEqual([true, true, true, false]);
    expect(results[3]!.retryAfterMs).toBe(1000);
    // Refused requests took nothing: one window later, exactly one token is back.
    for (let index = 0; index < 5; index++)
      expect((await consumeRateLimit(handle.db, clock, "ip:a", policy)).allowed).toBe(false);
    clock.advance(1000);
    expect((await consumeRateLimit(handle.db, clock, "ip:a", policy)).allowed).toBe(true);
    expect((await consumeRateLimit(handle.db, clock, "ip:a", policy)).allowed).toBe(false);
    expect((await consumeRateLimit(handle.db, clock, "ip:b", policy)).allowed).toBe(true);
  });

  test("parallel requests never overdraw the bucket", async () => {
    const policy = { count: 10, windowMs: 60_000 };
    const results = await Promise.all(
      Array.from({ length: 40 }, () => consumeRateLimit(handle.db, clock, "ip:parallel", policy)),
    );
    expect(results.filter((result) => result.allowed).length).toBe(10);
  });
});
