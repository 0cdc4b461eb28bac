import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { PlatformError } from "@burrow/platform-core";
import { type AppEnv, type Platform } from "@burrow/platform-http";

const Status = z.object({ status: z.literal("ok") }).openapi("HealthStatus");
const Readiness = z
  .object({ status: z.literal("ready"), database: z.literal("up"), migrations: z.literal("current") })
  .openapi("Readiness");

const healthz = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Operations"],
  summary: "Liveness: 200 while the process serves",
  responses: { 200: { description: "Alive", content: { "application/json": { schema: Status } } } },
});

const readyz = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["Operations"],
  summary: "Readiness: 200 when the database answers and migrations are current, else 503",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: Readiness } } },
    503: { description: "Not ready (problem+json)" },
  },
});

export function healthRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>()
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
