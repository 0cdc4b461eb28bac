// The admin console's overview over HTTP: the same service and the same rules (each part only for
// the permissions that cover it).
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { USER_STATUSES } from "@burrow/platform-auth";
import { EMAIL_STATUSES } from "@burrow/platform-email";
import { requireActor } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";
import { jsonContent, problems, QueryInteger, signedInOrApiKey } from "../schemas.ts";

const count = z.number().int().min(0);
const Overview = z
  .object({
    users: z
      .object({ byStatus: z.record(z.enum(USER_STATUSES), count), liveSessions: count })
      .nullable()
      .describe("users:read; null without it"),
    activity: z
      .array(z.object({ day: z.string(), signUps: count, signIns: count, failedSignIns: count }))
      .nullable()
      .describe("audit:read: each UTC day of the window, oldest first; null without it"),
    openSecurityEvents: count.nullable().describe("audit:read; null without it"),
    queue: z.object({
      jobs: z.array(z.object({ type: z.string(), state: z.string(), count })),
      emails: z.record(z.enum(EMAIL_STATUSES), count),
    }),
  })
  .openapi("AdminOverview");

const getOverview = createRoute({
  operationId: "getAdminOverview",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/overview",
  tags: ["Administration"],
  summary: "Accounts, live sessions, sign-ups and sign-ins per day, the queue, open security events",
  description:
    "For anyone with a platform permission; each part is filled only when the caller's permissions cover it. An API key needs the users:read scope.",
  request: {
    query: z.object({ days: QueryInteger(1, 90).optional() }).strict(),
  },
  responses: { 200: jsonContent(Overview, "The overview"), ...problems(400, 401, 403) },
});

export function adminOverviewRoutes(platform: Platform) {
  return new OpenAPIHono<AppEnv>().openapi(getOverview, async (c) => {
    const caller = await requireActor(c, "users:read");
    const { days } = c.req.valid("query");
    return c.json(await platform.overview.summary(caller.user.id, days === undefined ? {} : { days }), 200);
  });
}
