import { and, desc, eq, sql } from "drizzle-orm";
import {
  backoffDelay,
  enqueueJob,
  newId,
  NO_METRICS,
  PlatformError,
  type Backoff,
  type Clock,
  type Database,
  type JobDefinition,
  type KeyRing,
  type Logger,
  type Metrics,
} from "@burrow/platform-core";
import { EMAIL_STATUSES, emailMessages, type EmailStatus } from "../schema.ts";
import type { TemplateRenderer } from "../templates/render.ts";
import type { TemplateStore } from "../templates/store.ts";
import type { EmailTransport } from "../transports/transport.ts";

export type EmailMessageRow = typeof emailMessages.$inferSelect;

export const SEND_EMAIL_JOB = "email.send";

/** 6 attempts, waiting 2, 4, 8, 16 and 32 minutes between them: about an hour before `dead`. */
export const EMAIL_MAX_ATTEMPTS = 6;
export const EMAIL_BACKOFF: Backoff = { baseMs: 2 * 60_000, maxMs: 60 * 60_000 };

export interface QueueEmailInput {
  to: string;
  template: string;
  locale?: string;
  variables: Record<string, string>;
}

/** A message with its bodies decrypted, for the admin outbox and the development mailbox. */
export interface EmailMessageView extends Omit<EmailMessageRow, "htmlEncrypted" | "textEncrypted"> {
  html: string;
  text: string;
}

export interface Outbox {
  /**
   * Renders and queues a message. Pass the caller's transaction: the message and its send job
   * commit with the change that caused them, or not at all.
   */
  queue(db: Database, input: QueueEmailInput): Promise<EmailMessageRow>;
  get(db: Database, id: string): Promise<EmailMessageView | undefined>;
  list(db: Database, options?: { status?: EmailStatus; to?: string; limit?: number }): Promise<EmailMessageRow[]>;
  /**
   * Sends a message that gave up (`dead`) again: back to queued, with a send job of its own and a
   * fresh count of attempts. 404 for an unknown message, 409 for one that is not dead.
   */
  retry(db: Database, id: string): Promise<EmailMessageRow>;
  /** How many messages are in each status. */
  countByStatus(db: Database): Promise<Record<EmailStatus, number>>;
  /** The job definition that sends queued messages through the transport. */
  sendJob: JobDefinition;
}

export function createOutbox(options: {
  db: Database;
  clock: Clock;
  keyRing: KeyRing;
  templates: TemplateStore;
  renderer: TemplateRenderer;
  transport: EmailTransport;
  from: string;
  log: Logger;
  metrics?: Metrics;
}): Outbox {
  const metrics = options.metrics ?? NO_METRICS;
  const { clock, keyRing, templates, renderer, transport } = options;
  // The message id binds each ciphertext to its row: a body cannot be swapped into another message.
  const seal = (id: string, body: string) => keyRing.encrypt(body, id);
  const open = (id: string, body: string) => keyRing.decrypt(body, id);

  async function setStatus(db: Database, id: string, values: Partial<EmailMessageRow>): Promise<void> {
    await db
      .update(emailMessages)
      .set({ ...values, updatedAt: clock.now() })
      .where(eq(emailMessages.id, id));
  }

  return {
    async queue(db, input) {
      const template = await templates.active(db, input.template, input.locale);
      const compiled = await renderer.compile(template.id, template);
      const rendered = renderer.render(compiled, input.variables);
      const now = clock.now();
      const id = newId("message", now.getTime());
      const [row] = await db
        .insert(emailMessages)
        .values({
          id,
          to: input.to,
          templateKey: template.key,
          templateVersion: template.version,
          locale: template.locale,
          subject: rendered.subject,
          htmlEncrypted: seal(id, rendered.html),
          textEncrypted: seal(id, rendered.text),
          status: "queued",
          nextAttemptAt: now,
          createdAt: now,
          updatedAt: now,
        })
        .returning();
      await enqueueJob(db, clock, SEND_EMAIL_JOB, { messageId: id }, { maxAttempts: EMAIL_MAX_ATTEMPTS });
      return row!;
    },

    async get(db, id) {
      const [row] = await db.select().from(emailMessages).where(eq(emailMessages.id, id));
      if (row === undefined) return undefined;
      const { htmlEncrypted, textEncrypted, ...rest } = row;
      return { ...rest, html: open(id, htmlEncrypted), text: open(id, textEncrypted) };
    },

    async retry(db, id) {
      const now = clock.now();
      const [row] = await db
        .update(emailMessages)
        .set({ status: "queued", attempts: 0, nextAttemptAt: now, lastError: null, updatedAt: now })
        .where(and(eq(emailMessages.id, id), eq(emailMessages.status, "dead")))
        .returning();
      if (row === undefined) {
        const [exists] = await db.select({ id: emailMessages.id }).from(emailMessages).where(eq(emailMessages.id, id));
        throw new PlatformError(exists === undefined ? "not_found" : "conflict", {
          detail: exists === undefined ? undefined : "Only a message that gave up (dead) can be retried.",
        });
      }
      await enqueueJob(db, clock, SEND_EMAIL_JOB, { messageId: id }, { maxAttempts: EMAIL_MAX_ATTEMPTS });
      return row;
    },

    async countByStatus(db) {
      const rows = await db
        .select({ status: emailMessages.status, count: sql<number | string>`count(*)` })
        .from(emailMessages)
        .groupBy(emailMessages.status);
      const counts = Object.fromEntries(EMAIL_STATUSES.map((status) => [status, 0])) as Record<EmailStatus, number>;
      for (const row of rows) counts[row.status] = Number(row.count);
      return counts;
    },

    async list(db, filter = {}) {
      const conditions = [];
      if (filter.status !== undefined) conditions.push(eq(emailMessages.status, filter.status));
      if (filter.to !== undefined) conditions.push(eq(emailMessages.to, filter.to));
      return db
        .select()
        .from(emailMessages)
        .where(and(...conditions))
        .orderBy(desc(emailMessages.id))
        .limit(Math.min(filter.limit ?? 50, 500));
    },

    sendJob: {
      backoff: EMAIL_BACKOFF,
      async run(payload, job) {
        const messageId = (payload as { messageId?: unknown }).messageId;
        if (typeof messageId !== "string") throw new Error("email.send needs a messageId");
        const { db } = options;
        const [row] = await db.select().from(emailMessages).where(eq(emailMessages.id, messageId));
        // Gone, or already sent by an attempt whose completion was not recorded: nothing to do.
        if (row === undefined || row.status === "sent") return;
        await setStatus(db, messageId, { status: "sending", attempts: job.attempts });
        try {
          const result = await transport.send({
            id: row.id,
            from: options.from,
            to: row.to,
            subject: row.subject,
            html: open(row.id, row.htmlEncrypted),
            text: open(row.id, row.textEncrypted),
          });
          await setStatus(db, messageId, {
            status: "sent",
            sentAt: clock.now(),
            providerMessageId: result.providerMessageId,
            lastError: null,
            nextAttemptAt: null,
          });
          metrics.count("emails_total", { outcome: "sent" });
        } catch (error) {
          const last = job.attempts >= job.maxAttempts;
          const message = error instanceof Error ? error.message : String(error);
          await setStatus(db, messageId, {
            status: last ? "dead" : "failed",
            lastError: message.slice(0, 1000),
            nextAttemptAt: last ? null : new Date(clock.now().getTime() + backoffDelay(EMAIL_BACKOFF, job.attempts)),
          });
          metrics.count("emails_total", { outcome: last ? "dead" : "retry" });
          if (last)
            options.log.warn("email dead after its last attempt", {
              messageId,
              template: row.templateKey,
              error: message,
            });
          throw new PlatformError("service_unavailable", { detail: message, cause: error });
        }
      },
    },
  };
}
