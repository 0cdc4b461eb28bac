// Operators' email: the templates (read, preview a draft, save a new version, send a test to
// oneself) and the outbox (list, retry a message that gave up). The /v1/admin/email-* routes and
// the admin console call this one service, which checks email:read / email:manage itself.
import {
  type AuditLog,
  type Database,
  isId,
  PlatformError,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import type { Users } from "@burrow/platform-auth";
import type { Email, EmailMessageRow, EmailStatus, RenderedEmail, TemplateRow } from "@burrow/platform-email";
import type { PermissionResolver } from "@burrow/platform-rbac";

export const EMAIL_READ = "email:read";
export const EMAIL_MANAGE = "email:manage";

/** What an operator edits: the rest of a template (its key, locale and variables) stays as it is. */
export interface TemplateDraft {
  subject: string;
  mjml: string;
  /** The plain-text part; null makes it from the HTML. */
  text: string | null;
}

export interface EmailAdministration {
  /** The active version of every template, by key and locale. */
  templates(actorId: string): Promise<TemplateRow[]>;
  template(actorId: string, key: string, locale?: string): Promise<TemplateRow>;
  /** The draft as it would be sent, filled with sample values (email:read): nothing is saved. */
  preview(actorId: string, key: string, draft: TemplateDraft, locale?: string): Promise<RenderedEmail>;
  /** Saves the draft as the template's new active version (email:manage); audited. */
  save(
    actorId: string,
    key: string,
    draft: TemplateDraft,
    request: RequestContext,
    locale?: string,
  ): Promise<TemplateRow>;
  /** Sends the active version, with sample values, to the operator's own address (email:manage). */
  sendTest(actorId: string, key: string, request: RequestContext, locale?: string): Promise<EmailMessageRow>;
  /** The outbox, newest first (email:read): addresses, subjects and states, never bodies. */
  messages(actorId: string, filter?: { status?: EmailStatus; to?: string; limit?: number }): Promise<EmailMessageRow[]>;
  retry(actorId: string, messageId: string, request: RequestContext): Promise<EmailMessageRow>;
}

/**
 * What a preview or a test fills a template's variables with: a link to a page of this server for
 * links, a code for codes, the variable's own name otherwise.
 */
export function sampleValues(variables: readonly string[], publicUrl: string): Record<string, string> {
  return Object.fromEntries(
    variables.map((name) => [
      name,
      /url|link/i.test(name) ? `${publicUrl}/auth/example?token=sample` : /code/i.test(name) ? "123456" : `[${name}]`,
    ]),
  );
}

export function createEmailAdministration(options: {
  db: Database;
  email: Pick<Email, "templates" | "renderer" | "outbox">;
  users: Pick<Users, "get">;
  audit: Pick<AuditLog, "record">;
  resolver: Pick<PermissionResolver, "can">;
  publicUrl: string;
}): EmailAdministration {
  const { db, email, audit, resolver } = options;
  async function authorize(actorId: string, permission: string): Promise<void> {
    if (!(await resolver.can(actorId, permission)))
      throw new PlatformError("forbidden", { detail: `This needs the ${permission} permission.` });
  }
  /** The template's active version in exactly this locale (a fallback to English is not this one). */
  async function exact(key: string, locale: string): Promise<TemplateRow> {
    const row = await email.templates.active(db, key, locale);
    if (row.locale !== locale)
      throw new PlatformError("not_found", { detail: `No email template ${key} (${locale}).` });
    return row;
  }
  function checked(draft: TemplateDraft): TemplateDraft {
    const errors = [];
    if (draft.subject.trim() === "" || draft.subject.length > 300)
      errors.push({ path: "subject", message: "1 to 300 characters" });
    if (draft.mjml.length > 200_000) errors.push({ path: "mjml", message: "At most 200,000 characters" });
    if (draft.text !== null && draft.text.length > 50_000)
      errors.push({ path: "text", message: "At most 50,000 characters" });
    if (errors.length > 0) throw new PlatformError("validation_failed", { errors });
    return { subject: draft.subject.trim(), mjml: draft.mjml, text: draft.text?.trim() ? draft.text : null };
  }

  return {
    async templates(actorId) {
      await authorize(actorId, EMAIL_READ);
      return email.templates.list(db);
    },
    async template(actorId, key, locale = "en") {
      await authorize(actorId, EMAIL_READ);
      return exact(key, locale);
    },
    async preview(actorId, key, draft, locale = "en") {
      await authorize(actorId, EMAIL_READ);
      const current = await exact(key, locale);
      return email.renderer.preview(
        { ...checked(draft), variables: current.variables },
        sampleValues(current.variables, options.publicUrl),
      );
    },
    async save(actorId, key, draft, request, locale = "en") {
      await authorize(actorId, EMAIL_MANAGE);
      const current = await exact(key, locale);
      const source = checked(draft);
      return db.transaction(async (tx) => {
        const row = await email.templates.save(tx, { key, locale, ...source, variables: current.variables }, actorId);
        await audit.record(
          tx,
          {
            action: "email_template.updated",
            actor: { type: "user", id: actorId },
            target: { type: "email_template", id: `${key}:${locale}` },
            metadata: { version: row.version },
          },
          request,
        );
        return row;
      });
    },
    async sendTest(actorId, key, request, locale = "en") {
      await authorize(actorId, EMAIL_MANAGE);
      const current = await exact(key, locale);
      const operator = await options.users.get(db, actorId as UserId);
      if (operator === undefined) throw new PlatformError("unauthenticated");
      return db.transaction(async (tx) => {
        const message = await email.outbox.queue(tx, {
          to: operator.email,
          template: key,
          locale,
          variables: sampleValues(current.variables, options.publicUrl),
        });
        await audit.record(
          tx,
          {
            action: "email.test_sent",
            actor: { type: "user", id: actorId },
            target: { type: "email_template", id: `${key}:${locale}` },
            metadata: { messageId: message.id },
          },
          request,
        );
        return message;
      });
    },
    async messages(actorId, filter = {}) {
      await authorize(actorId, EMAIL_READ);
      return email.outbox.list(db, filter);
    },
    async retry(actorId, messageId, request) {
      await authorize(actorId, EMAIL_MANAGE);
      // Only a well-formed id is looked up: no such message otherwise (a NUL in one failed in PostgreSQL).
      if (!isId("message", messageId)) throw new PlatformError("not_found");
      return db.transaction(async (tx) => {
        const row = await email.outbox.retry(tx, messageId);
        await audit.record(
          tx,
          { action: "email.retried", actor: { type: "user", id: actorId }, target: { type: "email", id: row.id } },
          request,
        );
        return row;
      });
    },
  };
}
