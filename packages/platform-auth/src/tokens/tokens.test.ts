import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { newId, type DatabaseHandle, type UserId } from "@burrow/platform-core";
import { createTestClock, createTestDatabase } from "@burrow/platform-core/testing";
import { users } from "../schema.ts";
import { createOneTimeTokens, MAX_CODE_ATTEMPTS } from "./tokens.ts";

describe("one-time tokens", () => {
  let handle: DatabaseHandle;
  const clock = createTestClock();
  const tokens = createOneTimeTokens({ clock, secret: "s".repeat(40) });
  let userId: UserId;
  const HOUR = 3_600_000;

  beforeAll(async () => {
    handle = await createTestDatabase();
    userId = newId("user") as UserId;
    await handle.db.insert(users).values({
      id: userId,
      email: "tok@example.com",
      emailNormalized: "tok@example.com",
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
  });
  afterAll(() => handle.close());

  test("a newer verification link leaves the earlier ones valid until they expire; each works once", async () => {
    const first = await tokens.issueLink(handle.db, {
      userId,
      purpose: "verify_email",
      ttlMs: HOUR,
      target: "tok@example.com",
    });
    clock.advance(1_000);
    const second = await tokens.issueLink(handle.db, {
      userId,
      purpose: "verify_email",
      ttlMs: HOUR,
      target: "tok@example.com",
    });
    expect((await tokens.consumeLink(handle.db, "verify_email", first))?.target).toBe("tok@example.com");
    expect(await tokens.consumeLink(handle.db, "verify_email", first)).toBeUndefined();
    clock.advance(HOUR - 1_001);
    expect(await tokens.consumeLink(handle.db, "verify_email", second)).toBeDefined();
    const third = await tokens.issueLink(handle.db, { userId, purpose: "verify_email", ttlMs: HOUR });
    clock.advance(HOUR);
    expect(await tokens.consumeLink(handle.db, "verify_email", third)).toBeUndefined();
  });

  test("links that grant access supersede the earlier ones", async () => {
    for (const purpose of ["password_reset", "magic_link", "account_setup", "email_change"] as const) {
      const older = await tokens.issueLink(handle.db, { userId, purpose, ttlMs: HOUR });
      const newer = await tokens.issueLink(handle.db, { userId, purpose, ttlMs: HOUR });
      expect(await tokens.consumeLink(handle.db, purpose, older)).toBeUndefined();
      expect(await tokens.consumeLink(handle.db, purpose, newer)).toBeDefined();
    }
  });

  test("a link works only for its own purpose, and malformed secrets are refused without a query", async () => {
    const secret = await tokens.issueLink(handle.db, { userId, purpose: "magic_link", ttlMs: HOUR });
    expect(await tokens.consumeLink(handle.db, "password_reset", secret)).toBeUndefined();
    expect(await tokens.consumeLink(handle.db, "magic_link", `${secret}x`)).toBeUndefined();
    expect(await tokens.consumeLink(handle.db, "magic_link", secret)).toBeDefined();
  });

  test("lastIssuedAt is the newest token's time, used or not", async () => {
    expect(await tokens.lastIssuedAt(handle.db, userId, "phone_verify")).toBeUndefined();
    const issuedAt = clock.now();
    const secret = await tokens.issueLink(handle.db, { userId, purpose: "verify_email", ttlMs: HOUR });
    await tokens.consumeLink(handle.db, "verify_email", secret);
    expect((await tokens.lastIssuedAt(handle.db, userId, "verify_email"))?.getTime()).toBe(issuedAt.getTime());
  });

  test("codes: a newer one supersedes, a right one works once, the fifth miss kills it", async () => {
    const older = await tokens.issueCode(handle.db, { userId, purpose: "email_otp", ttlMs: HOUR });
    const code = await tokens.issueCode(handle.db, { userId, purpose: "email_otp", ttlMs: HOUR });
    const consume = (value: string) =>
      handle.db.transaction((tx) => tokens.consumeCode(tx, { userId, purpose: "email_otp", code: value }));
    if (older !== code) expect(await consume(older)).toBeUndefined();
    expect(await consume(code)).toBeDefined();
    expect(await consume(code)).toBeUndefined();

    const guarded = await tokens.issueCode(handle.db, { userId, purpose: "email_otp", ttlMs: HOUR });
    const wrong = guarded === "000000" ? "111111" : "000000";
    for (let miss = 0; miss < MAX_CODE_ATTEMPTS; miss++) expect(await consume(wrong)).toBeUndefined();
    expect(await consume(guarded)).toBeUndefined();
  });
});
