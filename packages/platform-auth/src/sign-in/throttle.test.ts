import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { PlatformError, type DatabaseHandle } from "@burrow/platform-core";
import { createTestClock, createTestDatabase } from "@burrow/platform-core/testing";
import { signInThrottles } from "../schema.ts";
import { createSignInThrottle } from "./throttle.ts";

const MINUTE = 60_000;
const policy = { count: 3, windowMs: MINUTE, maxLockMs: 5 * MINUTE };

describe("sign-in throttle", () => {
  let handle: DatabaseHandle;
  const clock = createTestClock();
  const throttle = createSignInThrottle({ clock, policy });
  let counter = 0;
  const newKey = () => `throttle-${++counter}@example.com`;

  beforeAll(async () => {
    handle = await createTestDatabase();
  });
  afterAll(() => handle.close());

  /** The error a call threw, which must be 429 too_many_attempts. */
  const refusal = async (attempt: Promise<unknown>): Promise<PlatformError> => {
    const error = await attempt.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(PlatformError);
    expect(error).toMatchObject({ code: "too_many_attempts", status: 429 });
    return error as PlatformError;
  };
  const retryAfter = async (attempt: Promise<unknown>) => Number((await refusal(attempt)).headers["Retry-After"]);
  /** Reserves a slot and fails it; returns whether that failure locked. */
  const fail = async (key: string) => throttle.recordFailure(handle.db, key, await throttle.reserve(handle.db, key));
  /** The sign-in completion's lock check: the lock read in a select of its own, then judged. */
  const assertNotLocked = async (db: DatabaseHandle["db"], key: string) => {
    const [read] = await db
      .select({ lockedUntil: throttle.lockedUntil(sql`${key}`) })
      .from(sql`(values (1)) as one (x)`);
    throttle.assertUnlocked(read!.lockedUntil);
  };
  const row = async (key: string) =>
    (await handle.db.select().from(signInThrottles).where(eq(signInThrottles.key, key)))[0];

  test("reserve hands out slots in order; only the count-th failure locks", async () => {
    const key = newKey();
    expect(await throttle.reserve(handle.db, key)).toBe(1);
    expect(await throttle.recordFailure(handle.db, key, 1)).toBe(false);
    expect(await throttle.reserve(handle.db, key)).toBe(2);
    expect(await throttle.recordFailure(handle.db, key, 2)).toBe(false);
    await expect(assertNotLocked(handle.db, key)).resolves.toBeUndefined();
    expect(await throttle.reserve(handle.db, key)).toBe(3);
    expect(await throttle.recordFailure(handle.db, key, 3)).toBe(true);
    await refusal(throttle.reserve(handle.db, key));
    await refusal(assertNotLocked(handle.db, key));
  });

  test("Retry-After is the rest of the lock, in whole seconds rounded up", async () => {
    const key = newKey();
    for (let attempt = 0; attempt < policy.count; attempt++) await fail(key);
    expect(await retryAfter(throttle.reserve(handle.db, key))).toBe(60);
    clock.advance(20_500);
    expect(await retryAfter(throttle.reserve(handle.db, key))).toBe(40);
    expect(await retryAfter(assertNotLocked(handle.db, key))).toBe(40);
    clock.advance(39_000);
    expect(await retryAfter(throttle.reserve(handle.db, key))).toBe(1);
    // The lock is over: the count starts again from one.
    clock.advance(500);
    await expect(assertNotLocked(handle.db, key)).resolves.toBeUndefined();
    expect(await throttle.reserve(handle.db, key)).toBe(1);
  });

  test("each repeated lock doubles in length, capped by maxLockMs", async () => {
    const key = newKey();
    const lengths: number[] = [];
    for (let lock = 0; lock < 5; lock++) {
      for (let attempt = 0; attempt < policy.count; attempt++) await fail(key);
      const seconds = await retryAfter(throttle.reserve(handle.db, key));
      lengths.push(seconds);
      clock.advance(seconds * 1000);
    }
    expect(lengths).toEqual([60, 120, 240, 300, 300]);
    expect((await row(key))?.lockLevel).toBe(5);
  });

  test("a success clears failures, the lock level and the row", async () => {
    const key = newKey();
    for (let attempt = 0; attempt < policy.count; attempt++) await fail(key);
    clock.advance(policy.windowMs);
    // Second round: two failures, then a success.
    await fail(key);
    await fail(key);
    expect(await throttle.reserve(handle.db, key)).toBe(3);
    await throttle.recordSuccess(handle.db, key);
    expect(await row(key)).toBeUndefined();
    // A fresh start: three more failures before a lock, and the lock is the first length again.
    expect(await fail(key)).toBe(false);
    expect(await fail(key)).toBe(false);
    expect(await fail(key)).toBe(true);
    expect(await retryAfter(throttle.reserve(handle.db, key))).toBe(60);
  });

  test("parallel reserves never hand out more than count slots", async () => {
    const key = newKey();
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => throttle.reserve(handle.db, key)));
    const granted = outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value] : []));
    expect(granted.sort()).toEqual([1, 2, 3]);
    const refused = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(refused.length).toBe(7);
    for (const outcome of refused) expect(outcome.reason).toMatchObject({ code: "too_many_attempts" });
    // All slots taken by attempts in flight: refused with the lock's length as the wait, though nothing is locked yet.
    expect(await retryAfter(throttle.reserve(handle.db, key))).toBe(60);
    await expect(assertNotLocked(handle.db, key)).resolves.toBeUndefined();
    // When the attempts in flight fail, exactly one of them starts the lock.
    const locked = await Promise.all(granted.map((slot) => throttle.recordFailure(handle.db, key, slot)));
    expect(locked.filter(Boolean).length).toBe(1);
    expect((await row(key))?.lockLevel).toBe(1);
  });

  test("only one failure starts a lock even if several claim the last slot", async () => {
    const key = newKey();
    for (let attempt = 0; attempt < policy.count; attempt++) await throttle.reserve(handle.db, key);
    const locked = await Promise.all([1, 2, 3].map(() => throttle.recordFailure(handle.db, key, policy.count)));
    expect(locked.filter(Boolean).length).toBe(1);
    expect((await row(key))?.lockLevel).toBe(1);
  });

  test("the lock check takes no slot", async () => {
    const key = newKey();
    for (let check = 0; check < 5; check++) await assertNotLocked(handle.db, key);
    expect(await row(key)).toBeUndefined();
    expect(await throttle.reserve(handle.db, key)).toBe(1);
    for (let check = 0; check < 5; check++) await assertNotLocked(handle.db, key);
    expect(await throttle.reserve(handle.db, key)).toBe(2);
  });

  test("keys are counted apart", async () => {
    const locked = newKey();
    const other = newKey();
    for (let attempt = 0; attempt < policy.count; attempt++) await fail(locked);
    await refusal(throttle.reserve(handle.db, locked));
    expect(await throttle.reserve(handle.db, other)).toBe(1);
    await assertNotLocked(handle.db, other);
  });
});
