import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq, inArray } from "drizzle-orm";
import { createDatabase, createWorker, loadConfig, silentLogger, type DatabaseHandle } from "@burrow/platform-core";
import { jobs } from "@burrow/platform-core/schema";
import { createTestClock, createTestDatabase } from "@burrow/platform-core/testing";
import { emailMessages } from "@burrow/platform-email/schema";
import { createTestMailServer } from "@burrow/platform-email/testing";
import { composePlatform } from "@burrow/platform-http";
import { killLeftovers, PROCESS_ENV, queueMails, spawnServer } from "./processes.ts";

// The server process is killed with SIGKILL while its mail worker is in the middle of an SMTP send
// (the test mail server holds the DATA command unanswered). A worker started after the lease ran
// out sends every queued message: at least once, the repeated one with the same X-Burrow-Message-Id
// so a receiver can tell. Beside webhooks-crash.test.ts, which does the same to a webhook delivery.
describe("the server killed mid-send", () => {
  const onPostgres = process.env.DATABASE_URL !== undefined;
  const dataDir = mkdtempSync(join(tmpdir(), "burrow-email-crash-"));
  const mail = createTestMailServer();
  let shared: (DatabaseHandle & { url?: string }) | undefined;
  afterAll(async () => {
    await killLeftovers();
    await shared?.close();
    await mail.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("every queued message is sent after a restart, none lost", async () => {
    await mail.start();
    const open = async (): Promise<DatabaseHandle> => {
      if (onPostgres) return (shared ??= await createTestDatabase());
      const handle = await createDatabase({ dataDir });
      await handle.migrate();
      return handle;
    };
    let database = await open();
    const env: Record<string, string> = {
      ...(onPostgres ? { DATABASE_URL: shared!.url! } : { BURROW_DATA_DIR: dataDir }),
      SMTP_URL: mail.url(),
    };
    const config = loadConfig({ ...PROCESS_ENV, ...env });
    const recipients = Array.from({ length: 5 }, (_, index) => `crash-${index}@example.com`);
    const queuing = composePlatform({ config, database, log: silentLogger });
    await queueMails(queuing, recipients);
    if (!onPostgres) await database.close();

    // The real server: its mail worker claims the batch and waits on the held first message.
    const holding = mail.holdNext();
    const server = await spawnServer(env);
    const held = await holding;
    server.process.kill("SIGKILL");
    expect(await server.process.exited).not.toBe(0);
    const heldId = held.mail.headers.get("x-burrow-message-id");
    expect(typeof heldId).toBe("string");

    // A worker started after the lease ran out (60 s) takes the jobs over; nothing is left behind.
    if (!onPostgres) database = await open();
    const clock = createTestClock(new Date(Date.now() + 61_000));
    const platform = composePlatform({ config, database, clock, log: silentLogger });
    const worker = createWorker({ db: database.db, clock, definitions: platform.jobs });
    for (;;) {
      const summary = await worker.runOnce();
      if (summary.succeeded + summary.retried + summary.dead === 0) break;
    }

    const copies = (to: string) => mail.received.filter((message) => (message.to as { text: string }).text === to);
    for (const to of recipients) {
      const received = copies(to);
      expect(received.length).toBeGreaterThanOrEqual(1);
      // Sent again after the crash, the message keeps its outbox id: a receiver can drop the copy.
      expect(new Set(received.map((message) => message.headers.get("x-burrow-message-id"))).size).toBe(1);
    }
    const heldTo = (held.mail.to as { text: string }).text;
    expect(copies(heldTo).length).toBe(2);
    expect(copies(heldTo)[1]!.headers.get("x-burrow-message-id")).toBe(heldId);
    const messages = await database.db
      .select({ status: emailMessages.status })
      .from(emailMessages)
      .where(inArray(emailMessages.to, recipients));
    expect(messages.map((message) => message.status)).toEqual(recipients.map(() => "sent"));
    const sends = await database.db.select({ status: jobs.status }).from(jobs).where(eq(jobs.type, "email.send"));
    expect(sends.map((job) => job.status)).toEqual(recipients.map(() => "succeeded"));
    if (!onPostgres) await database.close();
  }, 90_000);
});
