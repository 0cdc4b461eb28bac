// Operators' email over HTTP (email:read, email:manage): templates and the outbox, through the same
// service the admin console calls.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { EMAIL_STATUSES, type EmailMessageRow, type TemplateRow } from "@burrow/platform-email";
import { requireActor } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";
import { EMAIL_MANAGE, EMAIL_READ } from "@burrow/platform-ops";
import { jsonBody, jsonContent, problems, QueryInteger, signedInOrApiKey } from "../schemas.ts";

const tags = ["Administration"];
const KeyParam = z.object({
  key: z.string().regex(/^[a-z0-9_.]{1,100}$/, "A template key, such as auth.verify_email"),
});
const LocaleQuery = z
  .object({
    locale: z
      .string()
      .regex(/^[a-z]{2}(-[A-Z]{2})?$/, "A locale, such as en or pt-BR")
      .optional(),
  })
  .strict();
const Draft = z
  .object({
    subject: z.string().min(1).max(300),
    mjml: z.string().min(1).max(200_000),
    text: z.string().max(50_000).nullable().optional(),
  })
  .strict();

const TemplateSummary = z
  .object({
    key: z.string(),
    locale: z.string(),
    version: z.number().int(),
    subject: z.string(),
    variables: z.array(z.string()),
    updatedBy: z.string().nullable(),
    createdAt: z.string().describe("When this version was saved"),
  })
  .openapi("EmailTemplateSummary");
const Template = TemplateSummary.extend({ mjml: z.string(), text: z.string().nullable() }).openapi("EmailTemplate");
const Message = z
  .object({
    id: z.string(),
    to: z.string(),
    templateKey: z.string(),
    templateVersion: z.number().int(),
    locale: z.string(),
    subject: z.string(),
    status: z.enum(EMAIL_STATUSES),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
  })
  .openapi("EmailMessage");

const summary = (row: TemplateRow) => ({
  key: row.key,
  locale: row.locale,
  version: row.version,
  subject: row.subject,
  variables: row.variables,
  updatedBy: row.updatedBy,
  createdAt: row.createdAt.toISOString(),
});
const full = (row: TemplateRow) => ({ ...summary(row), mjml: row.mjml, text: row.text });
const message = (row: EmailMessageRow) => ({
  id: row.id,
  to: row.to,
  templateKey: row.templateKey,
  templateVersion: row.templateVersion,
  locale: row.locale,
  subject: row.subject,
  status: row.status,
  attempts: row.attempts,
  lastError: row.lastError,
  createdAt: row.createdAt.toISOString(),
  sentAt: row.sentAt?.toISOString() ?? null,
});

const listTemplates = createRoute({
  operationId: "listEmailTemplates",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/email-templates",
  tags,
  summary: "The active version of every email template (email:read)",
  responses: { 200: jsonContent(z.object({ data: z.array(TemplateSummary) }), "The templates"), ...problems(401, 403) },
});
const getTemplate = createRoute({
  operationId: "getEmailTemplate",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/email-templates/{key}",
  tags,
  summary: "A template's active version, with its MJML (email:read)",
  request: { params: KeyParam, query: LocaleQuery },
  responses: { 200: jsonContent(Template, "The template"), ...problems(400, 401, 403, 404) },
});
const saveTemplate = createRoute({
  operationId: "updateEmailTemplate",
  security: signedInOrApiKey,
  method: "patch",
  path: "/v1/admin/email-templates/{key}",
  tags,
  summary: "Save a new version of a template, sent from now on (email:manage)",
  description: "The MJML is checked as on preview: it must compile, and use only the template's variables.",
  request: { params: KeyParam, query: LocaleQuery, body: jsonBody(Draft) },
  responses: { 200: jsonContent(Template, "The new active version"), ...problems(400, 401, 403, 404, 415) },
});
const previewTemplate = createRoute({
  operationId: "previewEmailTemplate",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/email-templates/{key}/preview",
  tags,
  summary: "Render a draft of a template with sample values, saving nothing (email:read)",
  request: { params: KeyParam, query: LocaleQuery, body: jsonBody(Draft) },
  responses: {
    200: jsonContent(z.object({ subject: z.string(), html: z.string(), text: z.string() }), "The rendered draft"),
    ...problems(400, 401, 403, 404, 415),
  },
});
const testTemplate = createRoute({
  operationId: "sendEmailTemplateTest",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/email-templates/{key}/test",
  tags,
  summary: "Send the active version, with sample values, to your own address (email:manage)",
  request: { params: KeyParam, query: LocaleQuery },
  responses: { 202: jsonContent(Message, "The queued message"), ...problems(400, 401, 403, 404) },
});
const listMessages = createRoute({
  operationId: "listEmailMessages",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/email-messages",
  tags,
  summary: "The outbox, newest first: addresses, subjects and states, never bodies (email:read)",
  request: {
    query: z
      .object({
        status: z.enum(EMAIL_STATUSES).optional(),
        to: z.string().max(254).optional(),
        limit: QueryInteger(1, 500).optional(),
      })
      .strict(),
  },
  responses: { 200: jsonContent(z.object({ data: z.array(Message) }), "Messages"), ...problems(400, 401, 403) },
});
const retryMessage = createRoute({
  operationId: "retryEmailMessage",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/email-messages/{messageId}/retry",
  tags,
  summary: "Send a message that gave up (dead) again (email:manage)",
  request: { params: z.object({ messageId: z.string().max(64) }) },
  responses: { 200: jsonContent(Message, "The message, queued again"), ...problems(400, 401, 403, 404, 409) },
});

/** A draft as the service takes it: no plain-text part means one made from the HTML. */
const draftOf = (body: z.infer<typeof Draft>) => ({ subject: body.subject, mjml: body.mjml, text: body.text ?? null });

export function adminEmailRoutes(platform: Platform) {
  const admin = platform.emailAdministration;
  return new OpenAPIHono<AppEnv>()
    .openapi(listTemplates, async (c) => {
      const caller = await requireActor(c, EMAIL_READ);
      return c.json({ data: (await admin.templates(caller.user.id)).map(summary) }, 200);
    })
    .openapi(getTemplate, async (c) => {
      const caller = await requireActor(c, EMAIL_READ);
      const { key } = c.req.valid("param");
      return c.json(full(await admin.template(caller.user.id, key, c.req.valid("query").locale)), 200);
    })
    .openapi(saveTemplate, async (c) => {
      const caller = await requireActor(c, EMAIL_MANAGE);
      const row = await admin.save(
        caller.user.id,
        c.req.valid("param").key,
        draftOf(c.req.valid("json")),
        c.get("requestContext"),
        c.req.valid("query").locale,
      );
      return c.json(full(row), 200);
    })
    .openapi(previewTemplate, async (c) => {
      const caller = await requireActor(c, EMAIL_READ);
      return c.json(
        await admin.preview(
          caller.user.id,
          c.req.valid("param").key,
          draftOf(c.req.valid("json")),
          c.req.valid("query").locale,
        ),
        200,
      );
    })
    .openapi(testTemplate, async (c) => {
      const caller = await requireActor(c, EMAIL_MANAGE);
      const row = await admin.sendTest(
        caller.user.id,
        c.req.valid("param").key,
        c.get("requestContext"),
        c.req.valid("query").locale,
      );
      return c.json(message(row), 202);
    })
    .openapi(listMessages, async (c) => {
      const caller = await requireActor(c, EMAIL_READ);
      const { status, to, limit } = c.req.valid("query");
      const rows = await admin.messages(caller.user.id, {
        ...(status === undefined ? {} : { status }),
        ...(to === undefined ? {} : { to }),
        ...(limit === undefined ? {} : { limit }),
      });
      return c.json({ data: rows.map(message) }, 200);
    })
    .openapi(retryMessage, async (c) => {
      const caller = await requireActor(c, EMAIL_MANAGE);
      return c.json(
        message(await admin.retry(caller.user.id, c.req.valid("param").messageId, c.get("requestContext"))),
        200,
      );
    });
}
