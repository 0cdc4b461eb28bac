import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { createDatabase, createWorker, loadConfig, silentLogger, type DatabaseHandle } from "@burrow/platform-core";
import { createTestClock, createTestDatabase } from "@burrow/platform-core/testing";
import { composePlatform } from "@burrow/platform-http";
import { webhookDeliveries } from "@burrow/platform-ops/schema";
import { grantPlatformPermissions, PASSWORD, TEST_ENV } from "./helpers.ts";

const ENV = { ...TEST_ENV, BURROW_WEBHOOK_ALLOW_LOOPBACK: "1" };

// A server process is killed with SIGKILL while its webhook worker waits on the receiver; a worker
// started afterwards sends the message again, with the same webhook-id. On PGlite the database is a
// data directory the killed process had open: reopening it is Postgres's crash recovery.
describe("a worker killed mid-delivery", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "burrow-webhook-crash-"));
  const postgres = process.env.DATABASE_URL !== undefined;
  let testDatabase: (DatabaseHandle & { url?: string }) | undefined;
  afterAll(async () => {
    await testDatabase?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("delivers after a restart, at least once, deduplicable by webhook-id", async () => {
    const received: { id: string; body: string }[] = [];
    let firstArrived: () => void = () => {};
    const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
    const receiver = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        received.push({ id: request.headers.get("webhook-id") ?? "", body: await request.text() });
        if (received.length === 1) {
          firstArrived();
          return new Promise<Response>(() => {}); // never answers: the worker is killed while waiting
        }
        return new Response("ok");
      },
    });

    // The change and its queued delivery, written through the platform.
    const env = postgres ? { ...ENV } : { ...ENV, BURROW_DATA_DIR: dataDir };
    const open = async () => {
      if (postgres) return (testDatabase ??= await createTestDatabase());
      const handle = await createDatabase({ dataDir });
      await handle.migrate();
      return handle;
    };
    let database = await open();
    const url = postgres ? (database as { url?: string }).url! : undefined;
    const config = loadConfig({ ...env, ...(url ? { DATABASE_URL: url } : {}) });
    let platform = composePlatform({ config, database, log: silentLogger });
    const operator = await platform.auth.signUp({ email: "ops@example.com", password: PASSWORD }, {});
    if (operator.kind !== "signed_in") throw new Error("verification is off in this test");
    await grantPlatformPermissions({ platform, clock: platform.clock } as never, operator.user.id, ["webhooks:manage"]);
    await platform.webhooks.create(
      operator.user.id,
      { url: `http://127.0.0.1:${receiver.port}/hook`, eventTypes: ["user.created"] },
      {},
    );
    await platform.auth.signUp({ email: "ada@example.com", password: PASSWORD }, {});
    if (!postgres) await database.close();

    // The real server: its webhook worker claims the delivery and waits on the receiver.
    const server = Bun.spawn(["bun", "run", `${import.meta.dir}/../src/server.ts`], {
      env: { ...process.env, ...env, PORT: "0", ...(url ? { DATABASE_URL: url } : {}) },
      stdout: "ignore",
      stderr: "ignore",
    });
    await arrived;
    server.kill("SIGKILL");
    expect(await server.exited).not.toBe(0);
    expect(received).toHaveLength(1);

    // A worker started after the lease ran out (60 s) takes the job over and sends it again.
    if (!postgres) database = await open();
    const clock = createTestClock(new Date(Date.now() + 61_000));
    platform = composePlatform({ config, database, clock, log: silentLogger });
    const [before] = await database.db.select().from(webhookDeliveries);
    expect(before).toMatchObject({ status: "pending", attempts: 0 });
    const worker = createWorker({ db: database.db, clock, definitions: platform.webhooks.jobs });
    await worker.runOnce();

    expect(received).toHaveLength(2);
    expect(received[1]!.id).toBe(received[0]!.id);
    expect(received[1]!.body).toBe(received[0]!.body);
    const [after] = await database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, before!.id));
    expect(after).toMatchObject({ status: "succeeded", attempts: 1, responseStatus: 200 });
    receiver.stop(true);
    if (!postgres) await database.close();
  }, 60_000);
});
