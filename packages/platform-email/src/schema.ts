import { sql } from "drizzle-orm";
import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { timestamptz } from "@burrow/platform-core/schema";

/**
 * Email templates, versioned: an edit adds a version and makes it the active one, so every sent
 * message can name the exact version it was rendered from.
 */
export const emailTemplates = pgTable(
  "email_templates",
  {
    id: text("id").primaryKey(),
    key: text("key").notNull(),
    locale: text("locale").notNull(),
    version: integer("version").notNull(),
    active: boolean("active").notNull(),
    subject: text("subject").notNull(),
    /** MJML with `{{variable}}` placeholders. */
    mjml: text("mjml").notNull(),
    /** Plain-text body; when absent one is derived from the HTML. */
    text: text("text"),
    /** The variables the template may use; any other is refused on save. */
    variables: jsonb("variables").$type<string[]>().notNull(),
    updatedBy: text("updated_by"),
    createdAt: timestamptz("created_at").notNull(),
  },
  (table) => [
    uniqueIndex("email_templates_version_key").on(table.key, table.locale, table.version),
    uniqueIndex("email_templates_active_key").on(table.key, table.locale).where(sql`active`),
  ],
);

export const EMAIL_STATUSES = ["queued", "sending", "sent", "failed", "dead"] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

/**
 * The outbox. Bodies are encrypted with the core key ring: they hold live links (reset, magic
 * link), and a dump of the database must hold nothing that signs anyone in.
 */
export const emailMessages = pgTable(
  "email_messages",
  {
    id: text("id").primaryKey(),
    to: text("to").notNull(),
    templateKey: text("template_key").notNull(),
    templateVersion: integer("template_version").notNull(),
    locale: text("locale").notNull(),
    subject: text("subject").notNull(),
    htmlEncrypted: text("html_encrypted").notNull(),
    textEncrypted: text("text_encrypted").notNull(),
    status: text("status", { enum: EMAIL_STATUSES }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamptz("next_attempt_at"),
    lastError: text("last_error"),
    providerMessageId: text("provider_message_id"),
    createdAt: timestamptz("created_at").notNull(),
    updatedAt: timestamptz("updated_at").notNull(),
    sentAt: timestamptz("sent_at"),
  },
  (table) => [
    index("email_messages_status_idx").on(table.status, table.createdAt),
    index("email_messages_to_idx").on(table.to, table.createdAt),
  ],
);
