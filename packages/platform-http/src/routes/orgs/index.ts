import type { OpenAPIHono } from "@hono/zod-openapi";
import { type Platform } from "../../compose/platform.ts";
import { type AppEnv } from "../../env.ts";
import { elevationRoutes } from "./elevations.ts";
import { invitationRoutes } from "./invitations.ts";
import { organizationRoutes } from "./organizations.ts";
import { roleRoutes } from "./roles.ts";

/** The organization routes, one file per capability (as platform-rbac is). */
export function orgRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  return organizationRoutes(platform)
    .route("/", invitationRoutes(platform))
    .route("/", roleRoutes(platform))
    .route("/", elevationRoutes(platform));
}
