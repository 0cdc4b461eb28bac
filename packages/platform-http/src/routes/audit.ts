// The audit log for operators (search, export) and a user's own security activity.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema, SECURITY_EVENT_RULES } from "@burrow/platform-core";
import { requireActor, requireCaller, requireSession } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";
import {
  auditExportFormat,
  auditExportResponse,
  auditRecord,
  type AuditQuery,
  type SecurityEventRow,
} from "@burrow/platform-ops";
import { jsonBody, jsonContent, PageLimit, pageOf, problems, signedIn, signedInOrApiKey } from "../schemas.ts";

const tags = ["Audit"];

const AuditEntry = z
  .object({
    id: z.string(),
    occurredAt: z.string(),
    actorType: z.enum(["user", "api_key", "system", "anonymous"]),
    actorId: z.string().nullable(),
    action: z.string().openapi({ example: "user.signed_in" }),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    orgId: z.string().nullable(),
    outcome: z.enum(["success", "failure", "denied"]),
    ip: z.string().nullable().openapi({ description: "The client IP's HMAC (or the raw IP when so configured)" }),
    userAgent: z.string().nullable(),
    requestId: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
  })
  .openapi("AuditEntry");

// An actor is a user or an API key; a target any kind of id (it is matched, not looked up).
const ActorId = z.union([idSchema("user"), idSchema("apiKey")]);
const AnyId = z.string().regex(/^[a-z]{2,5}_[0-9a-z]{26}$/, "Expected an id (prefix_…)");
const Time = z.iso.datetime({ offset: true }).transform((value) => new Date(value));
const AuditFilters = z
  .object({
    actorId: ActorId.optional(),
    action: z
      .string()
      .regex(/^[a-z][a-z0-9_.]{1,99}$/)
      .optional(),
    targetId: AnyId.optional(),
    orgId: idSchema("organization").optional(),
    outcome: z.enum(["success", "failure", "denied"]).optional(),
    ip: z.string().max(64).optional(),
    from: Time.optional(),
    to: Time.optional(),
    cursor: z.string().max(200).optional(),
    limit: PageLimit.optional(),
  })
  .strict();

const searchAuditLogs = createRoute({
  operationId: "searchAuditLogs",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/audit-logs",
  tags,
  summary: "Search the audit log (audit:read), newest first; or export it",
  description:
    "Filters combine with AND. Pages by `cursor` (from `nextCursor`). With `Accept: application/x-ndjson` or `text/csv` the whole filtered set is streamed as an export (no paging).",
  request: { query: AuditFilters },
  responses: {
    200: {
      description: "A page of entries, or the export",
      content: {
        "application/json": { schema: pageOf(AuditEntry) },
        "application/x-ndjson": { schema: AuditEntry },
        "text/csv": { schema: z.string() },
      },
    },
    ...problems(400, 401, 403),
  },
});

const myActivity = createRoute({
  operationId: "listMyActivity",
  security: signedIn,
  method: "get",
  path: "/v1/me/activity",
  tags: ["Profile"],
  summary: "The caller's recent security activity: sign-ins, password, MFA, address and key changes",
  request: { query: z.object({ limit: PageLimit.optional() }).strict() },
  responses: { 200: jsonContent(z.object({ data: z.array(AuditEntry) }), "Activity"), ...problems(400, 401) },
});

const SecurityEvent = z
  .object({
    id: z.string(),
    kind: z.string().openapi({ example: "refresh_token_reuse" }),
    severity: z.enum(["low", "medium", "high"]),
    userId: z.string().nullable(),
    orgId: z.string().nullable(),
    auditId: z.string().openapi({ description: "The audit entry that raised it" }),
    details: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    resolvedAt: z.string().nullable(),
    resolvedBy: z.string().nullable(),
    resolutionNote: z.string().nullable(),
  })
  .openapi("SecurityEvent");
const SecurityEventId = idSchema("securityEvent").openapi({ param: { name: "eventId", in: "path" }, type: "string" });

const listSecurityEvents = createRoute({
  operationId: "listSecurityEvents",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/security-events",
  tags,
  summary: "Security events (audit:read), newest first",
  description: `Raised from audit entries: ${Object.values(SECURITY_EVENT_RULES)
    .map((rule) => `\`${rule!.kind}\``)
    .join(", ")}. \`resolved=false\` lists the open ones.`,
  request: {
    query: z
      .object({
        kind: z.enum(Object.values(SECURITY_EVENT_RULES).map((rule) => rule!.kind) as [string, ...string[]]).optional(),
        severity: z.enum(["low", "medium", "high"]).optional(),
        userId: idSchema("user").optional(),
        resolved: z.enum(["true", "false"]).optional(),
        cursor: z.string().max(200).optional(),
        limit: PageLimit.optional(),
      })
      .strict(),
  },
  responses: {
    200: jsonContent(pageOf(SecurityEvent), "Events"),
    ...problems(400, 401, 403),
  },
});

const resolveSecurityEvent = createRoute({
  operationId: "resolveSecurityEvent",
  security: signedIn,
  method: "post",
  path: "/v1/admin/security-events/{eventId}/resolve",
  tags,
  summary: "Resolve a security event with a note (security_events:resolve)",
  request: {
    params: z.object({ eventId: SecurityEventId }),
    body: jsonBody(z.object({ note: z.string().trim().min(1).max(2000) }).strict()),
  },
  responses: { 200: jsonContent(SecurityEvent, "Resolved"), ...problems(400, 401, 403, 404, 409, 415) },
});

const toSecurityEvent = (row: SecurityEventRow) => ({
  ...row,
  createdAt: row.createdAt.toISOString(),
  resolvedAt: row.resolvedAt?.toISOString() ?? null,
});

export function auditRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { auditTrail } = platform;
  return new OpenAPIHono<AppEnv>()
    .openapi(searchAuditLogs, async (c) => {
      const caller = await requireActor(c, "audit:read");
      const { cursor, limit, ...filters } = c.req.valid("query");
      const query = filters as AuditQuery;
      const format = auditExportFormat(c.req.header("accept"));
      if (format === null) {
        const page = await auditTrail.search(caller.user.id, query, {
          ...(cursor === undefined ? {} : { cursor }),
          ...(limit === undefined ? {} : { limit }),
        });
        return c.json({ data: page.data.map(auditRecord), nextCursor: page.nextCursor }, 200);
      }
      // Permission and filters are checked here, before the first byte: an error is still a problem document.
      const rows = await auditTrail.export(caller.user.id, query);
      return auditExportResponse(rows, format, (error) =>
        platform.log.error("an audit export failed", { error: String(error) }),
      ) as never;
    })
    .openapi(listSecurityEvents, async (c) => {
      const caller = await requireActor(c, "audit:read");
      const { cursor, limit, resolved, ...filter } = c.req.valid("query");
      const page = await platform.securityEvents.list(
        caller.user.id,
        { ...filter, ...(resolved === undefined ? {} : { resolved: resolved === "true" }) },
        { ...(cursor === undefined ? {} : { cursor }), ...(limit === undefined ? {} : { limit }) },
      );
      return c.json({ data: page.data.map(toSecurityEvent), nextCursor: page.nextCursor }, 200);
    })
    .openapi(resolveSecurityEvent, async (c) => {
      const caller = await requireSession(c);
      const row = await platform.securityEvents.resolve(
        caller.user.id,
        c.req.valid("param").eventId,
        c.req.valid("json").note,
        c.get("requestContext"),
      );
      return c.json(toSecurityEvent(row), 200);
    })
    .openapi(myActivity, async (c) => {
      const caller = await requireCaller(c);
      const rows = await auditTrail.activity(caller.user.id, c.req.valid("query").limit);
      return c.json({ data: rows.map(auditRecord) }, 200);
    });
}
