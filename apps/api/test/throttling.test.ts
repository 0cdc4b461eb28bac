import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import { createTestApi, readProblem, signIn, signUpUser, type TestApi } from "./helpers.ts";

const WRONG = "not the right password";

describe("lockout per email", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  test("five failures lock for 15 minutes, even the right password; the lock doubles on repeat", async () => {
    const user = await signUpUser(api);
    for (let attempt = 0; attempt < 5; attempt++) expect((await signIn(api, user.email, WRONG)).status).toBe(401);
    const locked = await signIn(api, user.email, user.password);
    expect(locked.status).toBe(429);
    expect(locked.headers.get("retry-after")).toBe("900");
    expect((await readProblem(locked)).code).toBe("too_many_attempts");

    api.clock.advance(15 * 60_000 - 1000);
    expect((await signIn(api, user.email, user.password)).status).toBe(429);
    api.clock.advance(1000);
    // The lock has ended; five more failures lock again, now for 30 minutes.
    for (let attempt = 0; attempt < 5; attempt++) expect((await signIn(api, user.email, WRONG)).status).toBe(401);
    const again = await signIn(api, user.email, user.password);
    expect(again.headers.get("retry-after")).toBe("1800");
    const lockEntries = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "user.locked"), eq(auditLogs.targetId, user.id)));
    expect(lockEntries.length).toBe(2);
  });

  test("locks double up to 24 hours", async () => {
    const email = "doubling@example.com";
    const lengths: string[] = [];
    for (let round = 0; round < 9; round++) {
      for (let attempt = 0; attempt < 5; attempt++) await signIn(api, email, WRONG);
      const locked = await signIn(api, email, WRONG);
      lengths.push(locked.headers.get("retry-after")!);
      api.clock.advance(Number(locked.headers.get("retry-after")) * 1000);
    }
    expect(lengths).toEqual(["900", "1800", "3600", "7200", "14400", "28800", "57600", "86400", "86400"]);
  });

  test("a success resets the count", async () => {
    const user = await signUpUser(api);
    for (let attempt = 0; attempt < 4; attempt++) await signIn(api, user.email, WRONG);
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
    for (let attempt = 0; attempt < 4; attempt++) expect((await signIn(api, user.email, WRONG)).status).toBe(401);
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
  });

  test("unknown addresses are counted and locked the same way", async () => {
    for (let attempt = 0; attempt < 5; attempt++)
      expect((await signIn(api, "ghost@example.com", WRONG)).status).toBe(401);
    expect((await signIn(api, "ghost@example.com", WRONG)).status).toBe(429);
  });

  test("20 parallel wrong passwords never get more failures verified than the policy", async () => {
    const user = await signUpUser(api);
    const responses = await Promise.all(Array.from({ length: 20 }, () => signIn(api, user.email, WRONG)));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 401).length).toBe(5);
    expect(statuses.filter((status) => status === 429).length).toBe(15);
    const failures = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "user.sign_in_failed"), eq(auditLogs.targetId, user.id)));
    expect(failures.length).toBe(5);
    expect((await signIn(api, user.email, user.password)).status).toBe(429);
  });

  test("an administrator can unlock", async () => {
    const user = await signUpUser(api);
    for (let attempt = 0; attempt < 5; attempt++) await signIn(api, user.email, WRONG);
    expect((await signIn(api, user.email, user.password)).status).toBe(429);
    await api.platform.auth.users.unlock(api.platform.db, user.id as never, "system", {});
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
  });
});

describe("lockout settings", () => {
  test("BURROW_LOCKOUT sets the count and the first lock", async () => {
    const api = await createTestApi({ BURROW_LOCKOUT: "3/1m" });
    try {
      for (let attempt = 0; attempt < 3; attempt++)
        expect((await signIn(api, "three@example.com", WRONG)).status).toBe(401);
      const locked = await signIn(api, "three@example.com", WRONG);
      expect(locked.status).toBe(429);
      expect(locked.headers.get("retry-after")).toBe("60");
    } finally {
      await api.close();
    }
  });
});

describe("per-IP token bucket", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi({ BURROW_IP_RATE_LIMIT: "20/1s", BURROW_TRUSTED_PROXIES: "10.0.0.1" });
  });
  afterAll(() => api.close());

  const attempt = (ip: string, headers: Record<string, string> = {}) =>
    api.request("/v1/auth/sign-in", {
      method: "POST",
      ip,
      headers,
      json: { email: `${crypto.randomUUID()}@example.com`, password: WRONG },
    });

  test("allows a burst of 20, then one per second, per client address", async () => {
    const burst = await Promise.all(Array.from({ length: 20 }, () => attempt("198.51.100.7")));
    expect(burst.every((response) => response.status === 401)).toBe(true);
    const limited = await attempt("198.51.100.7");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("1");
    expect((await readProblem(limited)).code).toBe("rate_limited");
    expect((await attempt("198.51.100.8")).status).toBe(401);
    api.clock.advance(1000);
    expect((await attempt("198.51.100.7")).status).toBe(401);
    expect((await attempt("198.51.100.7")).status).toBe(429);
    // Reads carry no guess and are not counted.
    expect((await api.request("/v1/auth/session", { ip: "198.51.100.7" })).status).toBe(401);
  });

  test("a social login's start, a GET that stores a flow, is counted in the same bucket", async () => {
    const start = () => api.request("/v1/auth/oauth/nobody/start", { ip: "198.51.100.30" });
    for (let index = 0; index < 20; index++) expect((await start()).status).toBe(404);
    const limited = await start();
    expect(limited.status).toBe(429);
    expect((await readProblem(limited)).code).toBe("rate_limited");
    expect((await attempt("198.51.100.30")).status).toBe(429);
    // Another address is not held back.
    expect((await api.request("/v1/auth/oauth/nobody/start", { ip: "198.51.100.31" })).status).toBe(404);
  });

  test("X-Forwarded-For is believed only from a trusted proxy", async () => {
    for (let index = 0; index < 20; index++) await attempt("203.0.113.50");
    // A client cannot dodge its own limit by claiming another address.
    expect((await attempt("203.0.113.50", { "x-forwarded-for": "192.0.2.99" })).status).toBe(429);
    // Behind the trusted proxy, the forwarded client address is the one limited.
    expect((await attempt("10.0.0.1", { "x-forwarded-for": "192.0.2.99, 203.0.113.50" })).status).toBe(429);
    expect((await attempt("10.0.0.1", { "x-forwarded-for": "203.0.113.50, 192.0.2.99" })).status).toBe(401);
  });
});
