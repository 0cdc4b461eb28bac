import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { consumeRateLimit, createWorker } from "@burrow/platform-core";
import { auditLogs, jobs, rateLimitBuckets } from "@burrow/platform-core/schema";
import { authSessions, authTokens } from "@burrow/platform-auth/schema";
import { HOUSEKEEPING_JOB } from "@burrow/platform-ops";
import { BEARER_CLIENT, createTestApi, signIn, signUpUser, type TestApi } from "./helpers.ts";

const DAY = 86_400_000;

describe("housekeeping", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi({ BURROW_AUDIT_RETENTION: "30d" });
  });
  afterAll(() => api.close());
  const count = async (table: typeof authSessions | typeof authTokens, userId: string) =>
    (await api.platform.db.select().from(table).where(eq(table.userId, userId))).length;

  test("ended sessions go a week after they ended; live ones stay", async () => {
    const ada = await signUpUser(api);
    const signedIn = (await (await signIn(api, ada.email, ada.password)).json()) as { sessionToken: string };
    expect(
      (
        await api.request("/v1/auth/sign-out", {
          method: "POST",
          headers: { authorization: `Bearer ${signedIn.sessionToken}`, ...BEARER_CLIENT },
        })
      ).status,
    ).toBe(204);
    expect(await count(authSessions, ada.id)).toBe(2);
    api.clock.advance(7 * DAY - 1);
    await api.platform.housekeeping.sweepAll();
    expect(await count(authSessions, ada.id)).toBe(2);
    api.clock.advance(2);
    const deleted = await api.platform.housekeeping.sweepAll();
    // The signed-out one is gone; the other ended by idling out just now, and stays its week.
    expect(await count(authSessions, ada.id)).toBe(1);
    expect(deleted["auth.sessions"]).toBeGreaterThanOrEqual(1);
    api.clock.advance(7 * DAY);
    await api.platform.housekeeping.sweepAll();
    expect(await count(authSessions, ada.id)).toBe(0);
  });

  test("one-time links go a day after they expire", async () => {
    const grace = await signUpUser(api);
    expect(
      (await api.request("/v1/auth/password/forgot", { method: "POST", json: { email: grace.email } })).status,
    ).toBe(202);
    await api.runJobs();
    expect(await count(authTokens, grace.id)).toBe(1);
    const [token] = await api.platform.db.select().from(authTokens).where(eq(authTokens.userId, grace.id));
    api.clock.set(new Date(token!.expiresAt.getTime() + DAY - 1));
    await api.platform.housekeeping.sweepAll();
    expect(await count(authTokens, grace.id)).toBe(1);
    api.clock.advance(2);
    await api.platform.housekeeping.sweepAll();
    expect(await count(authTokens, grace.id)).toBe(0);
  });

  test("audit entries past their retention go, in batches, and newer ones stay", async () => {
    const now = api.clock.now().getTime();
    // 2,500 entries 31 days old (three batches) and one 29 days old.
    await api.platform.db.execute(sql`
      insert into ${auditLogs} (id, occurred_at, actor_type, action, outcome, metadata)
      select 'aud_' || lpad(to_hex(g), 26, '0'), to_timestamp(${(now - 31 * DAY) / 1000}::double precision),
             'system', 'app.old', 'success', '{}'::jsonb
        from generate_series(1, 2500) as g`);
    await api.platform.audit.record(api.platform.db, { action: "app.recent", actor: { type: "system" } });
    api.clock.advance(29 * DAY);
    const deleted = await api.platform.housekeeping.sweepAll();
    expect(deleted["core.audit_logs"]).toBeGreaterThanOrEqual(2500);
    expect(await api.platform.db.select().from(auditLogs).where(eq(auditLogs.action, "app.old"))).toEqual([]);
    expect(await api.platform.db.select().from(auditLogs).where(eq(auditLogs.action, "app.recent"))).toHaveLength(1);
  });

  test("rate-limit buckets untouched for a day go", async () => {
    await consumeRateLimit(api.platform.db, api.clock, "ip:198.51.100.77", { count: 20, windowMs: 1000 });
    const buckets = async () => (await api.platform.db.select().from(rateLimitBuckets)).length;
    expect(await buckets()).toBeGreaterThan(0);
    api.clock.advance(DAY + 1);
    await api.platform.housekeeping.sweepAll();
    expect(await buckets()).toBe(0);
  });

  test("runs on the job queue once per configured interval", async () => {
    const definition = api.platform.jobs[HOUSEKEEPING_JOB];
    expect(definition?.everyMs).toBe(api.config.housekeeping.everyMs);
    expect(api.config.housekeeping.everyMs).toBe(3_600_000);
    const worker = createWorker({ db: api.platform.db, clock: api.clock, definitions: api.platform.jobs });
    await worker.scheduleRecurring();
    await worker.runOnce();
    const [next] = await api.platform.db
      .select()
      .from(jobs)
      .where(sql`${jobs.type} = ${HOUSEKEEPING_JOB} and ${jobs.status} = 'queued'`);
    expect(next!.runAt.getTime()).toBe(api.clock.now().getTime() + 3_600_000);
  });
});
