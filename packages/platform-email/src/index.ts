import { and, inArray, lt } from "drizzle-orm";
import {
  deleteInBatches,
  type Clock,
  type Config,
  type Database,
  type JobDefinition,
  type KeyRing,
  type Logger,
  type Metrics,
  type Sweeper,
} from "@burrow/platform-core";
import { emailMessages } from "./schema.ts";
import { createOutbox, SEND_EMAIL_JOB, type Outbox } from "./outbox/outbox.ts";
import { createRenderer, type TemplateRenderer } from "./templates/render.ts";
import { createTemplateStore, type TemplateStore } from "./templates/store.ts";
import { createDevMailbox } from "./transports/dev-mailbox.ts";
import { createSmtpTransport } from "./transports/smtp.ts";
import type { EmailTransport } from "./transports/transport.ts";
import {
  createDevSmsTransport,
  createSmsOutbox,
  createTwilioTransport,
  SEND_SMS_JOB,
  type SmsOutbox,
  type SmsTransport,
} from "./sms/sms.ts";

/** Production without an SMS provider: phone features answer 503 instead of texting nobody. */
const NO_SMS: SmsTransport = {
  name: "none",
  send: () =>
    Promise.reject(
      new Error("No SMS transport is configured (SMS_TWILIO_ACCOUNT_SID, SMS_TWILIO_AUTH_TOKEN, SMS_FROM)"),
    ),
};

export interface Email {
  templates: TemplateStore;
  renderer: TemplateRenderer;
  outbox: Outbox;
  transport: EmailTransport;
  sms: SmsOutbox;
  smsTransport: SmsTransport;
  /** Job types email needs run (sending mail and texts); the app registers them with its worker. */
  jobs: Record<string, JobDefinition>;
  /** What of email's tables housekeeping may delete: messages 30 days after they were sent or gave up. */
  sweepers: Sweeper[];
}

/** A finished message (sent, or given up on) goes after 30 days: its body is a copy of a template, its event is audited. */
const messageSweeper: Sweeper = {
  name: "email.messages",
  sweep: (db, now) =>
    deleteInBatches(
      db,
      emailMessages,
      emailMessages.id,
      and(
        inArray(emailMessages.status, ["sent", "dead"]),
        lt(emailMessages.updatedAt, new Date(now.getTime() - 30 * 86_400_000)),
      )!,
    ),
};

/**
 * Composes the email platform. The transport is SMTP when `SMTP_URL` is set, else (outside
 * production) the development mailbox; pass `transport` to use another provider.
 * @example const email = createEmail({ db, config, clock, keyRing, log }); await email.outbox.queue(tx, { to, template: "auth.verify_email", variables: { url } });
 */
export function createEmail(options: {
  db: Database;
  config: Config;
  clock: Clock;
  keyRing: KeyRing;
  log: Logger;
  transport?: EmailTransport;
  smsTransport?: SmsTransport;
  /** Where sends are counted (platform-ops' Prometheus metrics); nothing by default. */
  metrics?: Metrics;
}): Email {
  const { config } = options;
  const branding = { productName: config.email.productName, brandColor: config.email.brandColor };
  const renderer = createRenderer(branding);
  const templates = createTemplateStore({ clock: options.clock, branding });
  let transport = options.transport;
  if (transport === undefined) {
    if (config.smtpUrl !== undefined) transport = createSmtpTransport(config.smtpUrl);
    else if (config.env === "production") throw new Error("SMTP_URL must be set in production");
    else
      transport = createDevMailbox({
        log: options.log,
        mailboxUrl: `${config.publicUrl}${config.basePath}/dev/mailbox`,
      });
  }
  const outbox = createOutbox({
    db: options.db,
    clock: options.clock,
    keyRing: options.keyRing,
    templates,
    renderer,
    transport,
    from: config.email.from,
    log: options.log,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
  let smsTransport = options.smsTransport;
  if (smsTransport === undefined) {
    const twilio = config.sms.twilio;
    if (twilio !== undefined)
      smsTransport = createTwilioTransport(
        twilio.baseUrl === undefined ? twilio : { ...twilio, baseUrl: twilio.baseUrl },
      );
    else if (config.env === "production") smsTransport = NO_SMS;
    else
      smsTransport = createDevSmsTransport({
        log: options.log,
        pageUrl: `${config.publicUrl}${config.basePath}/dev/sms`,
      });
  }
  const sms = createSmsOutbox({
    clock: options.clock,
    keyRing: options.keyRing,
    transport: smsTransport,
    log: options.log,
  });
  return {
    templates,
    renderer,
    outbox,
    transport,
    sms,
    smsTransport,
    jobs: { [SEND_EMAIL_JOB]: outbox.sendJob, [SEND_SMS_JOB]: sms.sendJob },
    sweepers: [messageSweeper],
  };
}

export { DEFAULT_TEMPLATES, GLOBAL_VARIABLES, type TemplateDefinition } from "./templates/defaults.ts";
export {
  createRenderer,
  escapeHtml,
  htmlToText,
  validateTemplate,
  type Branding,
  type CompiledTemplate,
  type RenderedEmail,
  type TemplateRenderer,
} from "./templates/render.ts";
export { createTemplateStore, FALLBACK_LOCALE, type TemplateRow, type TemplateStore } from "./templates/store.ts";
export {
  createOutbox,
  EMAIL_BACKOFF,
  EMAIL_MAX_ATTEMPTS,
  SEND_EMAIL_JOB,
  type EmailMessageRow,
  type EmailMessageView,
  type Outbox,
  type QueueEmailInput,
} from "./outbox/outbox.ts";
export { createSmtpTransport } from "./transports/smtp.ts";
export { createDevMailbox } from "./transports/dev-mailbox.ts";
export type { EmailTransport, OutgoingEmail } from "./transports/transport.ts";
export { EMAIL_STATUSES, type EmailStatus } from "./schema.ts";
export {
  createDevSmsTransport,
  createSmsOutbox,
  createTwilioTransport,
  SEND_SMS_JOB,
  SMS_BACKOFF,
  SMS_MAX_ATTEMPTS,
  type OutgoingSms,
  type SmsOutbox,
  type SmsTransport,
} from "./sms/sms.ts";
