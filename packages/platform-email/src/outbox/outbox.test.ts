import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { createKeyRing, createWorker, loadConfig, silentLogger, type DatabaseHandle } from "@burrow/platform-core";
import { createTestClock, createTestDatabase } from "@burrow/platform-core/testing";
import { jobs } from "@burrow/platform-core/schema";
import { emailMessages } from "../schema.ts";
import { createEmail, type Email } from "../index.ts";
import { createTestMailServer } from "../test-mail-server.ts";

describe("outbox over SMTP", () => {
  let handle: DatabaseHandle;
  let email: Email;
  const clock = createTestClock();
  const mail = createTestMailServer();
  const keyRing = createKeyRing([{ version: "v1", key: new Uint8Array(32).fill(5) }]);
  let worker: ReturnType<typeof createWorker>;

  beforeAll(async () => {
    handle = await createTestDatabase();
    await mail.start();
    const config = loadConfig({
      NODE_ENV: "test",
      BURROW_SECRET: "x".repeat(40),
      BURROW_ENCRYPTION_KEYS: `v1:${Buffer.alloc(32, 5).toString("base64")}`,
      SMTP_URL: mail.url(),
      BURROW_PRODUCT_NAME: "Acme ID",
      PUBLIC_URL: "https://id.acme.test",
    });
    email = createEmail({ db: handle.db, config, clock, keyRing, log: silentLogger });
    worker = createWorker({ db: handle.db, clock, definitions: { "email.send": email.outbox.sendJob } });
  });
  afterAll(async () => {
    await email.transport.close?.();
    await mail.stop();
    await handle.close();
  });
  beforeEach(async () => {
    mail.received.length = 0;
    await handle.db.delete(emailMessages);
    await handle.db.delete(jobs);
  });

  test("a queued message is delivered with an HTML and a plain-text part", async () => {
    const row = await email.outbox.queue(handle.db, {
      to: "ada@example.com",
      template: "auth.verify_email",
      variables: { url: "https://id.acme.test/verify?token=abc123" },
    });
    expect(row.status).toBe("queued");
    expect((await worker.runOnce()).succeeded).toBe(1);
    expect(mail.received.length).toBe(1);
    const message = mail.received[0]!;
    expect(message.subject).toBe("Confirm your email address for Acme ID");
    expect(message.from?.text).toBe('"Acme ID" <no-reply@id.acme.test>');
    expect((message.to as { text: string }).text).toBe("ada@example.com");
    expect(message.html).toContain('href="https://id.acme.test/verify?token=abc123"');
    expect(message.text).toContain("https://id.acme.test/verify?token=abc123");
    const [stored] = await handle.db.select().from(emailMessages);
    expect(stored).toMatchObject({
      status: "sent",
      attempts: 1,
      templateKey: "auth.verify_email",
      templateVersion: 1,
      locale: "en",
    });
    expect(stored!.providerMessageId).toBeTruthy();
  });

  test("bodies are encrypted at rest and readable through the outbox", async () => {
    const row = await email.outbox.queue(handle.db, {
      to: "ada@example.com",
      template: "auth.magic_link",
      variables: { url: "https://id.acme.test/magic?token=secret-token-value" },
    });
    const [stored] = await handle.db.select().from(emailMessages);
    expect(JSON.stringify(stored)).not.toContain("secret-token-value");
    expect((await email.outbox.get(handle.db, row.id))?.html).toContain("secret-token-value");
  });

  test("a message queued in a rolled-back transaction is never sent", async () => {
    await expect(
      handle.db.transaction(async (tx) => {
        await email.outbox.queue(tx, { to: "ada@example.com", template: "auth.password_changed", variables: {} });
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(await worker.runOnce()).toEqual({ succeeded: 0, retried: 0, dead: 0 });
    expect(await email.outbox.list(handle.db)).toEqual([]);
  });

  test("while the SMTP server is down the message is retried with backoff, then delivered", async () => {
    await mail.stop();
    const row = await email.outbox.queue(handle.db, {
      to: "grace@example.com",
      template: "auth.password_reset",
      variables: { url: "https://id.acme.test/reset?token=r1" },
    });
    expect((await worker.runOnce()).retried).toBe(1);
    let stored = (await email.outbox.get(handle.db, row.id))!;
    expect(stored.status).toBe("failed");
    expect(stored.attempts).toBe(1);
    expect(stored.lastError).toBeTruthy();
    expect(stored.nextAttemptAt?.getTime()).toBe(clock.now().getTime() + 2 * 60_000);

    // Not due yet: nothing is tried.
    clock.advance(2 * 60_000 - 1);
    expect(await worker.runOnce()).toEqual({ succeeded: 0, retried: 0, dead: 0 });
    clock.advance(1);
    expect((await worker.runOnce()).retried).toBe(1);
    stored = (await email.outbox.get(handle.db, row.id))!;
    expect(stored.attempts).toBe(2);
    expect(stored.nextAttemptAt?.getTime()).toBe(clock.now().getTime() + 4 * 60_000);

    await mail.start();
    clock.advance(4 * 60_000);
    expect((await worker.runOnce()).succeeded).toBe(1);
    expect((await email.outbox.get(handle.db, row.id))?.status).toBe("sent");
    expect(mail.received.map((message) => message.subject)).toEqual(["Reset your Acme ID password"]);
  });

  test("a message the server refuses is retried, then dead, with the server's answer recorded", async () => {
    mail.refuse.add("bounce@example.com");
    try {
      const row = await email.outbox.queue(handle.db, {
        to: "bounce@example.com",
        template: "auth.password_changed",
        variables: {},
      });
      for (let attempt = 1; attempt <= 6; attempt++) {
        await worker.runOnce();
        const stored = (await email.outbox.get(handle.db, row.id))!;
        expect(stored.attempts).toBe(attempt);
        if (stored.nextAttemptAt !== null) clock.advance(stored.nextAttemptAt.getTime() - clock.now().getTime());
      }
      const stored = (await email.outbox.get(handle.db, row.id))!;
      expect(stored.status).toBe("dead");
      expect(stored.lastError).toContain("550");
      expect(mail.received).toEqual([]);
    } finally {
      mail.refuse.clear();
    }
  });

  test("after the last of 6 attempts (about an hour) the message is dead and visible in the outbox", async () => {
    await mail.stop();
    try {
      const row = await email.outbox.queue(handle.db, {
        to: "lin@example.com",
        template: "auth.password_changed",
        variables: {},
      });
      const waits: number[] = [];
      for (let attempt = 1; attempt <= 6; attempt++) {
        await worker.runOnce();
        const stored = (await email.outbox.get(handle.db, row.id))!;
        if (stored.nextAttemptAt !== null) {
          waits.push(stored.nextAttemptAt.getTime() - clock.now().getTime());
          clock.advance(stored.nextAttemptAt.getTime() - clock.now().getTime());
        }
      }
      expect(waits).toEqual([2, 4, 8, 16, 32].map((minutes) => minutes * 60_000));
      const dead = await email.outbox.list(handle.db, { status: "dead" });
      expect(dead.map((message) => message.id)).toEqual([row.id]);
      expect(dead[0]!.attempts).toBe(6);
      clock.advance(24 * 3_600_000);
      expect(await worker.runOnce()).toEqual({ succeeded: 0, retried: 0, dead: 0 });
    } finally {
      await mail.start();
    }
  });
});

describe("template versions and locales", () => {
  let handle: DatabaseHandle;
  let email: Email;
  const clock = createTestClock();
  beforeAll(async () => {
    handle = await createTestDatabase();
    const config = loadConfig({
      NODE_ENV: "test",
      BURROW_SECRET: "x".repeat(40),
      BURROW_ENCRYPTION_KEYS: `v1:${Buffer.alloc(32, 5).toString("base64")}`,
    });
    const sent: string[] = [];
    email = createEmail({
      db: handle.db,
      config,
      clock,
      keyRing: createKeyRing([{ version: "v1", key: new Uint8Array(32).fill(5) }]),
      log: silentLogger,
      transport: { name: "memory", send: async (message) => (sent.push(message.subject), { providerMessageId: null }) },
    });
  });
  afterAll(() => handle.close());

  test("a locale without a template falls back to English; a saved locale is used", async () => {
    const fallback = await email.outbox.queue(handle.db, {
      to: "a@example.com",
      template: "auth.otp_code",
      locale: "fr",
      variables: { code: "123456" },
    });
    expect(fallback.locale).toBe("en");
    const english = await email.templates.active(handle.db, "auth.otp_code");
    await email.templates.save(
      handle.db,
      {
        key: "auth.otp_code",
        locale: "fr",
        subject: "Votre code {{productName}}",
        mjml: english.mjml,
        text: "Votre code est {{code}}",
        variables: ["code"],
      },
      null,
    );
    const french = await email.outbox.queue(handle.db, {
      to: "a@example.com",
      template: "auth.otp_code",
      locale: "fr",
      variables: { code: "654321" },
    });
    expect(french).toMatchObject({ locale: "fr", templateVersion: 1, subject: "Votre code Burrow" });
    expect((await email.outbox.get(handle.db, french.id))?.text).toBe("Votre code est 654321");
  });

  test("saving makes a new active version; messages name the version they used", async () => {
    const current = await email.templates.active(handle.db, "auth.password_changed");
    const saved = await email.templates.save(
      handle.db,
      {
        key: "auth.password_changed",
        locale: "en",
        subject: "Password changed at {{productName}}",
        mjml: current.mjml,
        text: null,
        variables: [],
      },
      "usr_01m80w6a2kfrk8cgrdkafx9sz5",
    );
    expect(saved).toMatchObject({ version: 2, active: true, updatedBy: "usr_01m80w6a2kfrk8cgrdkafx9sz5" });
    const message = await email.outbox.queue(handle.db, {
      to: "a@example.com",
      template: "auth.password_changed",
      variables: {},
    });
    expect(message).toMatchObject({ templateVersion: 2, subject: "Password changed at Burrow" });
    expect(
      (await email.templates.list(handle.db))
        .filter((row) => row.key === "auth.password_changed")
        .map((row) => row.version),
    ).toEqual([2]);
  });

  test("a template with an undeclared variable or broken MJML is refused and nothing changes", async () => {
    const current = await email.templates.active(handle.db, "auth.magic_link");
    await expect(
      email.templates.save(
        handle.db,
        {
          key: "auth.magic_link",
          locale: "en",
          subject: "Hi {{firstName}}",
          mjml: current.mjml,
          text: null,
          variables: ["url"],
        },
        null,
      ),
    ).rejects.toMatchObject({ code: "validation_failed" });
    await expect(
      email.templates.save(
        handle.db,
        {
          key: "auth.magic_link",
          locale: "en",
          subject: "Hi",
          mjml: "<mjml><mj-body><mj-column><mj-section></mj-section></mj-column></mj-body></mjml>",
          text: null,
          variables: ["url"],
        },
        null,
      ),
    ).rejects.toMatchObject({ code: "validation_failed" });
    expect((await email.templates.active(handle.db, "auth.magic_link")).version).toBe(1);
  });

  test("an unknown template is a clear error", async () => {
    await expect(
      email.outbox.queue(handle.db, { to: "a@example.com", template: "nope", variables: {} }),
    ).rejects.toMatchObject({ code: "not_found" });
  });
});
