import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { constantTimeEqual, PlatformError } from "@burrow/platform-core";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";

const Status = z.object({ status: z.literal("ok") }).openapi("HealthStatus");
const Readiness = z
  .object({ status: z.literal("ready"), database: z.literal("up"), migrations: z.literal("current") })
  .openapi("Readiness");

const healthz = createRoute({
  operationId: "getHealth",
  security: [],
  method: "get",
  path: "/healthz",
  tags: ["Operations"],
  summary: "Liveness: 200 while the process serves",
  responses: { 200: { description: "Alive", content: { "application/json": { schema: Status } } } },
});

const readyz = createRoute({
  operationId: "getReadiness",
  security: [],
  method: "get",
  path: "/readyz",
  tags: ["Operations"],
  summary: "Readiness: 200 when the database answers and migrations are current, else 503",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: Readiness } } },
    503: { description: "Not ready (problem+json)" },
  },
});

const metrics = createRoute({
  operationId: "getMetrics",
  security: [],
  method: "get",
  path: "/metrics",
  tags: ["Operations"],
  summary: "Prometheus metrics (Bearer BURROW_METRICS_TOKEN when set; off in production without one)",
  responses: {
    200: { description: "Prometheus text format", content: { "text/plain": { schema: z.string() } } },
    401: { description: "Missing or wrong token (problem+json)" },
    404: { description: "Off: production without BURROW_METRICS_TOKEN (problem+json)" },
  },
});

export function healthRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { config } = platform;
  return new OpenAPIHono<AppEnv>()
    .openapi(metrics, async (c) => {
      if (config.metricsToken === undefined) {
        // Secure by default: production serves metrics only to a scraper holding the token.
        if (config.env === "production") throw new PlatformError("not_found");
      } else {
        const presented = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
        if (!constantTimeEqual(presented, config.metricsToken)) {
          c.header("WWW-Authenticate", 'Bearer realm="metrics"');
          throw new PlatformError("unauthenticated", { detail: "The metrics token is missing or wrong." });
        }
      }
      return c.body(await platform.prometheus.render(), 200, { "content-type": platform.prometheus.contentType });
    })
    .openapi(healthz, (c) => c.json({ status: "ok" as const }, 200))
    .openapi(readyz, async (c) => {
      if (!(await platform.database.ping()))
        throw new PlatformError("service_unavailable", { detail: "The database does not answer." });
      let current = false;
      try {
        current = (await platform.database.migrationStatus()).current;
      } catch {
        throw new PlatformError("service_unavailable", { detail: "The database does not answer." });
      }
      if (!current) throw new PlatformError("service_unavailable", { detail: "Database migrations are pending." });
      return c.json({ status: "ready" as const, database: "up" as const, migrations: "current" as const }, 200);
    });
}
