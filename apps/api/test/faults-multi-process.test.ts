import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, count, eq, inArray } from "drizzle-orm";
import { loadConfig, secretHash, silentLogger } from "@burrow/platform-core";
import { jobs } from "@burrow/platform-core/schema";
import { createTestDatabase, type TestDatabase } from "@burrow/platform-core/testing";
import { refreshTokens } from "@burrow/platform-auth/schema";
import { emailMessages } from "@burrow/platform-email/schema";
import { createTestMailServer } from "@burrow/platform-email/testing";
import { composePlatform, type Platform } from "@burrow/platform-http";
import { PASSWORD } from "./helpers.ts";
import {
  killLeftovers,
  PROCESS_ENV,
  queueMails,
  spawnServer,
  spawnWorker,
  until,
  type BurrowProcess,
} from "./processes.ts";

// Two API processes (each with its own job workers, as `bun start` runs them) and two `burrow worker`
// processes on one PostgreSQL: the guarantees that must hold across processes, not only within one.
describe.skipIf(process.env.DATABASE_URL === undefined)("two API processes and two workers on one PostgreSQL", () => {
  const mail = createTestMailServer();
  let database: TestDatabase;
  let here: Platform;
  let servers: BurrowProcess[] = [];

  beforeAll(async () => {
    await mail.start();
    database = await createTestDatabase();
    const env = {
      DATABASE_URL: database.url!,
      SMTP_URL: mail.url(),
      // The client address is taken from X-Forwarded-For (the test is the proxy), so each test below
      // draws on a rate-limit bucket of its own.
      BURROW_TRUSTED_PROXIES: "127.0.0.1,::ffff:127.0.0.1,::1",
      BURROW_IP_RATE_LIMIT: "10/1h",
      // No grace window: a refresh token shown after its rotation is reuse, never a second success.
      BURROW_REFRESH_GRACE: "0",
    };
    here = composePlatform({ config: loadConfig({ ...PROCESS_ENV, ...env }), database, log: silentLogger });
    const started = await Promise.all([spawnServer(env), spawnServer(env), spawnWorker(env), spawnWorker(env)]);
    servers = started.slice(0, 2);
  }, 60_000);
  afterAll(async () => {
    await killLeftovers();
    await database?.close();
    await mail.stop();
  });

  let nextIp = 1;
  /** POSTs JSON to server `index` (0 or 1) as a client at `ip` (a fresh address unless given). */
  const post = (index: number, path: string, json: unknown, ip = `198.51.100.${nextIp++}`) =>
    fetch(`${servers[index]!.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-burrow-client": "bearer", "x-forwarded-for": ip },
      body: JSON.stringify(json),
    });
  const outcome = async (response: Response) =>
    response.status < 300 ? "ok" : ((await response.json()) as { code: string }).code;

  test("each queued mail is sent once, though four workers race for it and one stalls mid-send", async () => {
    const total = 40;
    const recipients = Array.from({ length: total }, (_, index) => `queued-${index}@example.com`);
    const holding = mail.holdNext();
    // One transaction: every job becomes due at the same instant, for every worker to claim.
    await queueMails(here, recipients);
    const mailedTo = (to: string) =>
      mail.received.filter((message) => (message.to as { text: string }).text === to).length;
    const held = await holding;
    const heldTo = (held.mail.to as { text: string }).text;
    // The stalled worker holds at most its batch (10); the other workers send everything else.
    await until("the other workers to send the rest", () =>
      recipients.filter((to) => mailedTo(to) > 0).length >= total - 10 ? true : undefined,
    );
    expect(mailedTo(heldTo)).toBe(1);
    held.release();
    await until("every message", () => (recipients.every((to) => mailedTo(to) > 0) ? true : undefined));
    for (const to of recipients) expect(mailedTo(to)).toBe(1);
    await until("every job recorded as done", async () => {
      const [open] = await here.db
        .select({ n: count() })
        .from(jobs)
        .where(and(eq(jobs.type, "email.send"), inArray(jobs.status, ["queued", "running"])));
      return open!.n === 0 ? true : undefined;
    });
    const runs = await here.db
      .select({ status: jobs.status, attempts: jobs.attempts })
      .from(jobs)
      .where(eq(jobs.type, "email.send"));
    expect(runs).toEqual(Array.from({ length: total }, () => ({ status: "succeeded", attempts: 1 })));
    const messages = await here.db
      .select({ status: emailMessages.status })
      .from(emailMessages)
      .where(inArray(emailMessages.to, recipients));
    expect(messages.map((message) => message.status)).toEqual(recipients.map(() => "sent"));
  }, 60_000);

  test("the IP rate limit is one bucket across both processes", async () => {
    // 30 requests from one address, alternating between the processes, all at once: the burst is 10.
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        post(index % 2, "/v1/auth/password/forgot", { email: `nobody-${index}@example.com` }, "203.0.113.9").then(
          outcome,
        ),
      ),
    );
    expect(answers.filter((answer) => answer === "ok")).toHaveLength(10);
    expect(answers.filter((answer) => answer === "rate_limited")).toHaveLength(20);
  });

  test("the lockout counts failures from both processes: five in all, then locked on both", async () => {
    const email = "hammered@example.com";
    expect(await outcome(await post(0, "/v1/auth/sign-up", { email, password: PASSWORD }))).toBe("ok");
    // 20 wrong passwords at once, split across the processes: five are checked, the rest refused.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        post(index % 2, "/v1/auth/sign-in", { email, password: "wrong horse battery" }).then(outcome),
      ),
    );
    expect(answers.filter((answer) => answer === "invalid_credentials")).toHaveLength(5);
    expect(answers.filter((answer) => answer === "too_many_attempts")).toHaveLength(15);
    // Locked everywhere, even for the right password.
    for (const index of [0, 1])
      expect(await outcome(await post(index, "/v1/auth/sign-in", { email, password: PASSWORD }))).toBe(
        "too_many_attempts",
      );
  });

  test("a refresh token raced from both processes is rotated exactly once", async () => {
    const email = "raced@example.com";
    expect(await outcome(await post(1, "/v1/auth/sign-up", { email, password: PASSWORD }))).toBe("ok");
    const grant = await post(0, "/v1/auth/token", { grantType: "password", email, password: PASSWORD });
    expect(grant.status).toBe(200);
    const { refreshToken } = (await grant.json()) as { refreshToken: string };
    const [{ familyId }] = (await here.db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(eq(refreshTokens.tokenHash, secretHash(refreshToken)!))) as [{ familyId: string }];

    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        post(index % 2, "/v1/auth/token", { grantType: "refresh_token", refreshToken }).then(outcome),
      ),
    );
    expect(answers.filter((answer) => answer === "ok")).toHaveLength(1);
    expect(answers.filter((answer) => answer === "invalid_token")).toHaveLength(19);
    // The first token and the one successor: a single rotation.
    const [tokens] = await here.db
      .select({ n: count() })
      .from(refreshTokens)
      .where(eq(refreshTokens.familyId, familyId));
    expect(tokens!.n).toBe(2);
  });
});
