import {
  enqueueJob,
  type Backoff,
  type Clock,
  type Database,
  type JobDefinition,
  type KeyRing,
  type Logger,
} from "@burrow/platform-core";

export interface OutgoingSms {
  to: string;
  body: string;
}

/**
 * How text messages leave Burrow. Throw to have the job retried; resolve with the provider's id.
 * @example const transport: SmsTransport = { name: "acme", send: async (sms) => ({ providerMessageId: await acme.send(sms.to, sms.body) }) };
 */
export interface SmsTransport {
  name: string;
  send(sms: OutgoingSms): Promise<{ providerMessageId: string | null }>;
}

export const SEND_SMS_JOB = "sms.send";
/** Codes live 10 minutes: retry soon and not for long (30 s, 1 min, then give up). */
export const SMS_MAX_ATTEMPTS = 3;
export const SMS_BACKOFF: Backoff = { baseMs: 30_000, maxMs: 120_000 };

export interface SmsOutbox {
  /** Queues a text in the caller's transaction; the body (it carries a code) is encrypted at rest. */
  queue(db: Database, sms: OutgoingSms): Promise<void>;
  sendJob: JobDefinition;
}

export function createSmsOutbox(options: {
  clock: Clock;
  keyRing: KeyRing;
  transport: SmsTransport;
  log: Logger;
}): SmsOutbox {
  const { keyRing, transport } = options;
  return {
    async queue(db, sms) {
      await enqueueJob(
        db,
        options.clock,
        SEND_SMS_JOB,
        { to: sms.to, body: keyRing.encrypt(sms.body, `sms:${sms.to}`) },
        { maxAttempts: SMS_MAX_ATTEMPTS },
      );
    },
    sendJob: {
      backoff: SMS_BACKOFF,
      async run(payload, job) {
        const { to, body } = payload as { to: string; body: string };
        try {
          await transport.send({ to, body: keyRing.decrypt(body, `sms:${to}`) });
        } catch (error) {
          if (job.attempts >= job.maxAttempts)
            options.log.warn("sms dead after its last attempt", {
              transport: transport.name,
              error: error instanceof Error ? error.message : String(error),
            });
          throw error;
        }
      },
    },
  };
}

/**
 * Twilio's Messages API over plain HTTPS (no SDK needed): form-encoded POST with Basic auth.
 * `baseUrl` is for tests that stand a local server in for the provider.
 */
export function createTwilioTransport(options: {
  accountSid: string;
  authToken: string;
  from: string;
  baseUrl?: string;
}): SmsTransport {
  const base = options.baseUrl ?? "https://api.twilio.com";
  const endpoint = `${base}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
  const authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString("base64")}`;
  return {
    name: "twilio",
    async send(sms) {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: { authorization, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ To: sms.to, From: options.from, Body: sms.body }),
        signal: AbortSignal.timeout(15_000),
      });
      if (!response.ok) throw new Error(`twilio answered ${response.status}`);
      const result = (await response.json()) as { sid?: string };
      return { providerMessageId: result.sid ?? null };
    },
  };
}

/**
 * The development SMS transport: keeps the last 100 texts in memory for the /dev/sms page and logs
 * only that a text went out, never its code.
 */
export function createDevSmsTransport(options: {
  log: Logger;
  pageUrl: string;
}): SmsTransport & { messages: (OutgoingSms & { at: Date })[] } {
  const messages: (OutgoingSms & { at: Date })[] = [];
  return {
    name: "dev-sms",
    messages,
    async send(sms) {
      messages.unshift({ ...sms, at: new Date() });
      messages.length = Math.min(messages.length, 100);
      options.log.info("text delivered to the development SMS outbox", { to: sms.to, open: options.pageUrl });
      return { providerMessageId: null };
    },
  };
}
