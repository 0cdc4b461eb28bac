import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, count, eq } from "drizzle-orm";
import { createDatabase, loadConfig, silentLogger, type DatabaseHandle } from "@burrow/platform-core";
import { jobs } from "@burrow/platform-core/schema";
import { createTestDatabase, type TestDatabase } from "@burrow/platform-core/testing";
import { authSessions } from "@burrow/platform-auth/schema";
import { createTestMailServer } from "@burrow/platform-email/testing";
import { composePlatform, type Platform } from "@burrow/platform-http";
import { PASSWORD } from "./helpers.ts";
import { killLeftovers, PROCESS_ENV, spawnServer, spawnWorker } from "./processes.ts";

// SIGTERM: the server drains (in-flight requests answered, new connections refused, exit 0) and so
// does `burrow worker` (the job in hand finishes). On PGlite the processes own a data directory in
// turn, as on a single-node install; on PostgreSQL they share a test database with this process.
describe("SIGTERM drains", () => {
  const onPostgres = process.env.DATABASE_URL !== undefined;
  const folder = mkdtempSync(join(tmpdir(), "burrow-sigterm-"));
  const mail = createTestMailServer();
  const opened: TestDatabase[] = [];
  beforeAll(() => mail.start());
  afterAll(async () => {
    await killLeftovers();
    for (const database of opened) await database.close();
    await mail.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  /**
   * A database of the test's own and the environment that points a process at it. From this process
   * it is opened with `open`; on PGlite it must be closed (`done`) before a process opens it.
   */
  async function store(name: string, env: Record<string, string> = {}) {
    const shared = onPostgres ? await createTestDatabase() : undefined;
    if (shared !== undefined) opened.push(shared);
    const url = shared?.url;
    const dataDir = join(folder, name);
    const processEnv: Record<string, string> = {
      ...(url === undefined ? { BURROW_DATA_DIR: dataDir } : { DATABASE_URL: url }),
      SMTP_URL: mail.url(),
      ...env,
    };
    return {
      processEnv,
      async open(): Promise<{ database: DatabaseHandle; platform: Platform; done(): Promise<void> }> {
        const database: DatabaseHandle = shared ?? (await createDatabase({ dataDir }));
        if (shared === undefined) await database.migrate();
        const config = loadConfig({ ...PROCESS_ENV, ...processEnv });
        return {
          database,
          platform: composePlatform({ config, database, log: silentLogger }),
          done: async () => {
            if (shared === undefined) await database.close();
          },
        };
      },
    };
  }

  /**
   * A server over a store holding one account that may sign in many times at once (the lockout's
   * slots must not be what refuses them), and a count of that account's sessions once it stopped.
   */
  async function serverWithAccount(name: string, email: string) {
    const place = await store(name, { BURROW_LOCKOUT: "100/15m" });
    const setup = await place.open();
    const signedUp = await setup.platform.auth.signUp({ email, password: PASSWORD }, {});
    if (signedUp.kind !== "signed_in") throw new Error("verification is off in this test");
    await setup.done();
    return {
      server: await spawnServer(place.processEnv),
      async sessions(): Promise<number> {
        const after = await place.open();
        const [sessions] = await after.database.db
          .select({ n: count() })
          .from(authSessions)
          .where(eq(authSessions.userId, signedUp.user.id));
        await after.done();
        return sessions!.n;
      },
    };
  }

  test("the server answers every request in flight, refuses new connections and exits 0", async () => {
    const { server, sessions } = await serverWithAccount("server", "drain@example.com");
    const { hostname, port } = new URL(server.url);
    // Sign-ins hash a password each (four at a time): a queue that takes a while to drain.
    const total = 32;
    let answered = 0;
    const signIns = Array.from({ length: total }, async () => {
      const response = await fetch(`${server.url}/v1/auth/sign-in`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-burrow-client": "bearer" },
        body: JSON.stringify({ email: "drain@example.com", password: PASSWORD }),
      });
      const body = (await response.json()) as { sessionToken?: string };
      answered++;
      return { status: response.status, signedIn: typeof body.sessionToken === "string" };
    });
    // Once one is answered every request has long been accepted; the rest are in the server's hands.
    await Promise.race(signIns);
    server.process.kill("SIGTERM");
    // The server logs this once its listening socket is closed, with the requests it still holds.
    const [, pending] = await server.waitFor(/"shutting down".*"pendingRequests":(\d+)/);
    expect(Number(pending)).toBeGreaterThan(0);
    const inFlightAtRefusal = total - answered;
    const connected = await Bun.connect({ hostname, port: Number(port), socket: { data() {} } }).then(
      (socket) => {
        socket.end();
        return true;
      },
      () => false,
    );
    expect(connected).toBe(false);
    expect(inFlightAtRefusal).toBeGreaterThan(0);

    const results = await Promise.all(signIns);
    expect(results).toEqual(Array.from({ length: total }, () => ({ status: 200, signedIn: true })));
    const exited = await Promise.race([
      server.process.exited,
      new Promise<string>((resolve) => setTimeout(() => resolve("still running after 10 s"), 10_000)),
    ]);
    expect(exited).toBe(0);

    // Every answered sign-in was committed, and on PGlite the directory was closed and unlocked.
    expect(await sessions()).toBe(total + 1);
  }, 60_000);

  test("requests whose callers hung up are finished or dropped before the database closes", async () => {
    const { server, sessions } = await serverWithAccount("abandoned", "gone@example.com");
    const total = 24;
    const callers = Array.from({ length: total }, () => new AbortController());
    const signIns = callers.map(async (caller) => {
      const response = await fetch(`${server.url}/v1/auth/sign-in`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-burrow-client": "bearer" },
        body: JSON.stringify({ email: "gone@example.com", password: PASSWORD }),
        signal: caller.signal,
      });
      await response.arrayBuffer();
      return "answered";
    });
    // Once one is answered the rest are in the server's hands, most queued for the password hash.
    // Their callers hang up (a phone losing signal, a proxy timing out): the server no longer counts
    // them as pending; those hashing carry on, those queued are dropped (499 caller_gone).
    await Promise.race(signIns);
    for (const caller of callers) caller.abort();
    await Promise.allSettled(signIns);
    server.process.kill("SIGTERM");
    // The shutdown's log line counts the handlers it waits for, callers or not.
    const [, running] = await server.waitFor(/"shutting down".*"handlersRunning":(\d+)/);
    expect(Number(running)).toBeGreaterThan(0);
    const exited = await Promise.race([
      server.process.exited,
      new Promise<string>((resolve) => setTimeout(() => resolve("still running after 20 s"), 20_000)),
    ]);
    expect(exited).toBe(0);
    // None met a closed database: no error was logged; each sign-in either committed its session
    // (200) or was dropped before its hash (499), and every one of them is in the request log.
    const lines = server.output().split("\n");
    expect(lines.filter((line) => line.includes('"level":"error"'))).toEqual([]);
    const statuses = lines
      .filter((line) => line.includes('"message":"request"') && line.includes('"route":"/v1/auth/sign-in"'))
      .map((line) => (JSON.parse(line) as { status: number }).status);
    expect(statuses).toHaveLength(total);
    const answered = statuses.filter((status) => status === 200).length;
    const dropped = statuses.filter((status) => status === 499).length;
    expect(answered + dropped).toBe(total);
    expect(dropped).toBeGreaterThan(0);
    expect(await sessions()).toBe(answered + 1);
  }, 60_000);

  test("`burrow worker` finishes the mail it is sending, then exits 0", async () => {
    const place = await store("worker", { BURROW_EMAIL_VERIFICATION: "required" });
    const holding = mail.holdNext();
    const setup = await place.open();
    await setup.platform.auth.signUp({ email: "held@example.com", password: PASSWORD }, {});
    const [queued] = await setup.database.db.select({ n: count() }).from(jobs).where(eq(jobs.status, "queued"));
    expect(queued!.n).toBeGreaterThan(0);
    await setup.done();

    const worker = await spawnWorker(place.processEnv);
    const held = await holding;
    expect((held.mail.to as { text: string }).text).toBe("held@example.com");
    worker.process.kill("SIGTERM");
    await worker.waitFor(/worker stopping/);
    // The worker waits on the mail server; once it answers, the job completes and the worker exits.
    held.release();
    expect(await worker.process.exited).toBe(0);
    expect(worker.output()).toContain("worker stopped");

    const after = await place.open();
    const unfinished = await after.database.db
      .select({ type: jobs.type, status: jobs.status })
      .from(jobs)
      .where(and(eq(jobs.type, "email.send"), eq(jobs.status, "running")));
    expect(unfinished).toEqual([]);
    const [sent] = await after.database.db
      .select({ n: count() })
      .from(jobs)
      .where(and(eq(jobs.type, "email.send"), eq(jobs.status, "succeeded")));
    expect(sent!.n).toBe(1);
    expect(
      mail.received.filter((message) => (message.to as { text: string }).text === "held@example.com"),
    ).toHaveLength(1);
    await after.done();
  }, 60_000);
});
