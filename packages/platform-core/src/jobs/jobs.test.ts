import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createTestClock, createTestDatabase } from "../test-database.ts";
import type { DatabaseHandle } from "../database/index.ts";
import { jobs } from "../schema.ts";
import { claimJobs, enqueueJob, getJob } from "./queue.ts";
import { backoffDelay, createWorker } from "./worker.ts";

describe("job queue", () => {
  let handle: DatabaseHandle;
  const clock = createTestClock();
  beforeAll(async () => {
    handle = await createTestDatabase();
  });
  afterAll(() => handle.close());
  beforeEach(async () => {
    await handle.db.delete(jobs);
  });

  test("a job enqueued in a rolled-back transaction never runs", async () => {
    const ran: unknown[] = [];
    await expect(
      handle.db.transaction(async (tx) => {
        await enqueueJob(tx, clock, "probe", { n: 1 });
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    await handle.db.transaction(async (tx) => {
      await enqueueJob(tx, clock, "probe", { n: 2 });
    });
    const worker = createWorker({
      db: handle.db,
      clock,
      definitions: { probe: { run: async (payload) => void ran.push(payload) } },
    });
    expect(await worker.runOnce()).toEqual({ succeeded: 1, retried: 0, dead: 0 });
    expect(ran).toEqual([{ n: 2 }]);
  });

  test("a failing job is retried with exponential backoff, then succeeds", async () => {
    let calls = 0;
    const backoff = { baseMs: 30_000, maxMs: 3_600_000 };
    const id = await enqueueJob(handle.db, clock, "flaky", {});
    const worker = createWorker({
      db: handle.db,
      clock,
      definitions: {
        flaky: {
          backoff,
          run: async () => {
            calls++;
            if (calls < 3) throw new Error(`failure ${calls}`);
          },
        },
      },
    });
    expect((await worker.runOnce()).retried).toBe(1);
    let row = await getJob(handle.db, id);
    expect(row?.status).toBe("queued");
    expect(row?.lastError).toBe("failure 1");
    expect(row?.runAt.getTime()).toBe(clock.now().getTime() + 30_000);

    clock.advance(29_999);
    expect(await worker.runOnce()).toEqual({ succeeded: 0, retried: 0, dead: 0 });
    clock.advance(1);
    expect((await worker.runOnce()).retried).toBe(1);
    row = await getJob(handle.db, id);
    expect(row?.runAt.getTime()).toBe(clock.now().getTime() + 60_000);

    clock.advance(60_000);
    expect((await worker.runOnce()).succeeded).toBe(1);
    row = await getJob(handle.db, id);
    expect(row?.status).toBe("succeeded");
    expect(row?.attempts).toBe(3);
    expect(calls).toBe(3);
  });

  /** Timers fired by hand: the worker's polls, and each batch's lease deadline (`LEASE_MS`). */
  const LEASE_MS = 60_000;
  function handTimers() {
    const pending = new Map<number, { run: () => void; delayMs: number }>();
    let handles = 0;
    const polls = () => [...pending].filter(([, timer]) => timer.delayMs !== LEASE_MS);
    return {
      set(run: () => void, delayMs: number) {
        pending.set(++handles, { run, delayMs });
        return handles;
      },
      clear: (handle: unknown) => void pending.delete(handle as number),
      /** The delays of the polls pending. */
      polls: () => polls().map(([, timer]) => timer.delayMs),
      lapses: () => [...pending.values()].filter((timer) => timer.delayMs === LEASE_MS).length,
      /** Fires the pending poll, or the pending lease deadline. */
      fire(which: "poll" | "lapse") {
        const found = which === "poll" ? polls() : [...pending].filter(([, timer]) => timer.delayMs === LEASE_MS);
        expect(found).toHaveLength(1);
        const [handle, timer] = found[0]!;
        pending.delete(handle);
        timer.run();
      },
    };
  }
  /** Until the worker has a poll pending again (it waits for the database, not for time): its delay. */
  const nextPoll = async (timers: ReturnType<typeof handTimers>) => {
    while (timers.polls().length === 0) await handle.db.execute(sql`select 1`);
    return timers.polls()[0];
  };

  test("the polling loop waits the poll interval when idle and goes again at once after a full batch", async () => {
    const timers = handTimers();
    const done: number[] = [];
    const worker = createWorker({
      db: handle.db,
      clock,
      batchSize: 2,
      leaseMs: LEASE_MS,
      timers,
      definitions: { poll: { run: async (payload) => void done.push((payload as { n: number }).n) } },
    });
    for (let n = 0; n < 3; n++) await enqueueJob(handle.db, clock, "poll", { n });
    const turn = async () => {
      timers.fire("poll");
      return nextPoll(timers);
    };
    worker.start({ pollMs: 5000 });
    expect(timers.polls()).toEqual([0]);
    expect(await turn()).toBe(0); // a full batch of 2: more may be waiting
    expect(await turn()).toBe(5000); // the last job: then idle
    expect(await turn()).toBe(5000); // nothing to do: wait, never spin
    // A batch that settles takes its lease deadline with it.
    expect(timers.lapses()).toBe(0);
    await worker.stop();
    expect(done.sort()).toEqual([0, 1, 2]);
  });

  test("a handler that never answers holds the loop until its lease runs out, not for good", async () => {
    const timers = handTimers();
    const ran: string[] = [];
    const worker = createWorker({
      db: handle.db,
      clock,
      leaseMs: LEASE_MS,
      timers,
      definitions: {
        // As a query whose connection died under it can: neither resolves nor rejects.
        stuck: { run: () => new Promise<void>(() => ran.push("stuck")) },
        mail: { run: async () => void ran.push("mail") },
      },
    });
    await enqueueJob(handle.db, clock, "stuck", {});
    worker.start({ pollMs: 5000 });
    timers.fire("poll");
    while (ran.length === 0) await handle.db.execute(sql`select 1`);
    // The batch is running: no poll until it settles, or until its lease deadline.
    expect(timers.polls()).toEqual([]);
    expect(timers.lapses()).toBe(1);
    await enqueueJob(handle.db, clock, "mail", {});
    // The lease runs out: the worker polls again at once, and the other job runs. (Before, it waited
    // for the batch forever and never polled again.)
    clock.advance(LEASE_MS);
    timers.fire("lapse");
    expect(await nextPoll(timers)).toBe(0);
    timers.fire("poll");
    while (!ran.includes("mail")) await handle.db.execute(sql`select 1`);
    // The stuck job's lease is over, but this worker is still running it: it does not start it again
    // beside itself (another worker may take it over, as from a crashed one).
    expect(ran.filter((job) => job === "stuck")).toHaveLength(1);
    const other = createWorker({
      db: handle.db,
      clock,
      leaseMs: LEASE_MS,
      definitions: { stuck: { run: async () => void ran.push("taken over") } },
    });
    expect((await other.runOnce()).succeeded).toBe(1);
    expect(ran).toContain("taken over");
    // Stopping waits for the batch in flight at most until its lease runs out.
    await enqueueJob(handle.db, clock, "stuck", {});
    expect(await nextPoll(timers)).toBe(5000);
    timers.fire("poll");
    while (ran.filter((job) => job === "stuck").length < 2) await handle.db.execute(sql`select 1`);
    const stopped = worker.stop();
    timers.fire("lapse");
    await stopped;
  });

  test("backoff doubles and is capped", () => {
    const backoff = { baseMs: 1000, maxMs: 5000 };
    expect([1, 2, 3, 4, 5].map((attempt) => backoffDelay(backoff, attempt))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  test("a job is dead after its last attempt", async () => {
    const id = await enqueueJob(handle.db, clock, "doomed", {}, { maxAttempts: 3 });
    const worker = createWorker({
      db: handle.db,
      clock,
      definitions: {
        doomed: { backoff: { baseMs: 1000, maxMs: 1000 }, run: async () => Promise.reject(new Error("smtp down")) },
      },
    });
    expect((await worker.runOnce()).retried).toBe(1);
    clock.advance(1000);
    expect((await worker.runOnce()).retried).toBe(1);
    clock.advance(1000);
    expect((await worker.runOnce()).dead).toBe(1);
    clock.advance(3_600_000);
    expect(await worker.runOnce()).toEqual({ succeeded: 0, retried: 0, dead: 0 });
    const row = await getJob(handle.db, id);
    expect(row?.status).toBe("dead");
    expect(row?.attempts).toBe(3);
    expect(row?.lastError).toBe("smtp down");
    expect(row?.finishedAt).not.toBeNull();
  });

  test("a crashed worker's job is picked up again when its lease runs out", async () => {
    const id = await enqueueJob(handle.db, clock, "lease", {});
    // The first worker claims the job and dies without finishing it.
    const [claimed] = await claimJobs(handle.db, {
      types: ["lease"],
      workerId: "crashed",
      now: clock.now(),
      leaseMs: 60_000,
      limit: 1,
    });
    expect(claimed?.id).toBe(id);

    const ran: string[] = [];
    const survivor = createWorker({
      db: handle.db,
      clock,
      leaseMs: 60_000,
      definitions: { lease: { run: async () => void ran.push("survivor") } },
    });
    expect(await survivor.runOnce()).toEqual({ succeeded: 0, retried: 0, dead: 0 });
    clock.advance(60_000);
    expect((await survivor.runOnce()).succeeded).toBe(1);
    expect(ran).toEqual(["survivor"]);
    const row = await getJob(handle.db, id);
    expect(row?.status).toBe("succeeded");
    expect(row?.attempts).toBe(2);
  });

  test("a job whose last attempt's lease ran out is dead, not run again", async () => {
    const id = await enqueueJob(handle.db, clock, "last", {}, { maxAttempts: 1 });
    await claimJobs(handle.db, { types: ["last"], workerId: "crashed", now: clock.now(), leaseMs: 1000, limit: 1 });
    clock.advance(1000);
    let ran = false;
    const worker = createWorker({
      db: handle.db,
      clock,
      definitions: { last: { run: async () => void (ran = true) } },
    });
    expect((await worker.runOnce()).dead).toBe(1);
    expect(ran).toBe(false);
    expect((await getJob(handle.db, id))?.status).toBe("dead");
  });

  test("two workers never run the same job", async () => {
    const total = 60;
    await handle.db.transaction(async (tx) => {
      for (let index = 0; index < total; index++) await enqueueJob(tx, clock, "count", { index });
    });
    const runs = new Map<number, string[]>();
    const makeWorker = (name: string) =>
      createWorker({
        db: handle.db,
        clock,
        batchSize: 4,
        workerId: name,
        definitions: {
          count: {
            run: async (payload) => {
              const index = (payload as { index: number }).index;
              runs.set(index, [...(runs.get(index) ?? []), name]);
              // Yield so the other worker's claim can interleave with this one.
              await handle.db.execute(sql`select 1`);
            },
          },
        },
      });
    const workers = [makeWorker("a"), makeWorker("b")];
    const drain = async (worker: ReturnType<typeof makeWorker>) => {
      for (;;) {
        const summary = await worker.runOnce();
        if (summary.succeeded + summary.retried + summary.dead === 0) return;
      }
    };
    await Promise.all(workers.map(drain));
    expect(runs.size).toBe(total);
    for (const names of runs.values()) expect(names.length).toBe(1);
    const byWorker = new Set([...runs.values()].flat());
    if (handle.driver === "postgres") expect(byWorker.size).toBe(2);
  });

  test("a recurring job runs once per interval, however many workers schedule it", async () => {
    const ran: string[] = [];
    const definitions = {
      sweep: { everyMs: 3_600_000, run: async () => void ran.push(clock.now().toISOString()) },
    };
    // Three nodes start: one pending run between them.
    const workers = [1, 2, 3].map((n) => createWorker({ db: handle.db, clock, definitions, workerId: `node-${n}` }));
    for (const worker of workers) await worker.scheduleRecurring();
    const pending = async () =>
      (await handle.db.select().from(jobs)).filter((job) => job.status === "queued" || job.status === "running");
    expect(await pending()).toHaveLength(1);
    expect(await workers[0]!.runOnce()).toEqual({ succeeded: 1, retried: 0, dead: 0 });
    expect(ran).toHaveLength(1);
    // The next run is queued an interval later, and not before.
    const [next] = await pending();
    expect(next!.runAt.getTime()).toBe(clock.now().getTime() + 3_600_000);
    for (const worker of workers) await worker.scheduleRecurring();
    expect(await pending()).toHaveLength(1);
    clock.advance(3_599_999);
    expect((await Promise.all(workers.map((worker) => worker.runOnce()))).map((r) => r.succeeded)).toEqual([0, 0, 0]);
    clock.advance(1);
    const runs = await Promise.all(workers.map((worker) => worker.runOnce()));
    expect(runs.reduce((sum, r) => sum + r.succeeded, 0)).toBe(1);
    expect(ran).toHaveLength(2);
  });

  test("a recurring job that runs out of attempts still comes back at its next interval", async () => {
    const worker = createWorker({
      db: handle.db,
      clock,
      definitions: {
        flaky: {
          everyMs: 60_000,
          backoff: { baseMs: 1000, maxMs: 1000 },
          run: async () => {
            throw new Error("database busy");
          },
        },
      },
    });
    await worker.scheduleRecurring();
    await handle.db.update(jobs).set({ maxAttempts: 1 });
    expect(await worker.runOnce()).toEqual({ succeeded: 0, retried: 0, dead: 1 });
    const queued = (await handle.db.select().from(jobs)).filter((job) => job.status === "queued");
    expect(queued).toHaveLength(1);
    expect(queued[0]!.runAt.getTime()).toBe(clock.now().getTime() + 60_000);
  });
});
