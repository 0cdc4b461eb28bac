// Routes for just-in-time elevation and eligibilities.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema } from "@burrow/platform-core";
import type { EligibilityView, ElevationRow } from "@burrow/platform-rbac";
import { requireCaller } from "../../authenticate/index.ts";
import { type Platform } from "../../compose/platform.ts";
import { type AppEnv } from "../../env.ts";
import { jsonBody, jsonContent, problems } from "../../schemas.ts";
import { OrgId, Role, route } from "./shared.ts";

const Elevation = z
  .object({
    id: z.string(),
    orgId: z.string().nullable(),
    roleId: z.string(),
    reason: z.string(),
    minutes: z.number(),
    status: z.enum(["pending", "active", "ended", "denied"]),
    startsAt: z.string().nullable(),
    endsAt: z.string().nullable(),
  })
  .openapi("Elevation");
const ElevationId = idSchema("elevation").openapi({ param: { name: "elevationId", in: "path" }, type: "string" });
const listElevations = route({
  operationId: "listElevations",
  method: "get",
  path: "/v1/elevations",
  summary: "My elevations",
  responses: { 200: jsonContent(z.object({ data: z.array(Elevation) }), "Elevations"), ...problems(401, 403) },
});
const requestElevation = route({
  operationId: "requestElevation",
  method: "post",
  path: "/v1/elevations",
  summary: "Take on an eligible role for a while (active at once, or pending approval)",
  request: {
    body: jsonBody(
      z.object({
        orgId: idSchema("organization")
          .openapi({ type: "string", description: "Omit for a platform role." })
          .optional(),
        role: Role,
        reason: z.string().trim().min(3).max(500),
        minutes: z.number().int().optional(),
      }),
    ),
  },
  responses: { 201: jsonContent(Elevation, "Requested"), ...problems(400, 401, 403, 415) },
});
const endElevation = route({
  operationId: "endElevation",
  method: "delete",
  path: "/v1/elevations/{elevationId}",
  summary: "End an elevation early",
  request: { params: z.object({ elevationId: ElevationId }) },
  responses: { 204: { description: "Ended" }, ...problems(400, 401, 403, 404) },
});
const approveElevation = route({
  operationId: "approveElevation",
  method: "post",
  path: "/v1/elevations/{elevationId}/approve",
  summary: "Approve someone else's pending elevation",
  request: { params: z.object({ elevationId: ElevationId }) },
  responses: { 200: jsonContent(Elevation, "Started"), ...problems(400, 401, 403, 404, 409) },
});
const makeEligible = route({
  operationId: "createEligibility",
  method: "post",
  path: "/v1/orgs/{orgId}/eligibilities",
  summary:
    "Make a role eligible-only for another member (members:update; only a role whose permissions you hold; a role holding * needs approverPermission)",
  request: {
    params: z.object({ orgId: OrgId }),
    body: jsonBody(
      z.object({
        userId: idSchema("user").openapi({ type: "string" }),
        role: Role,
        approverPermission: z.string().max(100).optional(),
      }),
    ),
  },
  responses: { 204: { description: "Eligible" }, ...problems(400, 401, 403, 404, 415) },
});

const makePlatformEligible = route({
  operationId: "createPlatformEligibility",
  method: "post",
  path: "/v1/admin/eligibilities",
  summary:
    "Make a platform role eligible-only for another user (users:manage; only a role whose permissions you hold; a role holding * needs approverPermission)",
  request: {
    body: jsonBody(
      z.object({
        userId: idSchema("user").openapi({ type: "string" }),
        role: Role,
        approverPermission: z.string().max(100).optional(),
      }),
    ),
  },
  responses: { 204: { description: "Eligible" }, ...problems(400, 401, 403, 404, 415) },
});

const Eligibility = z
  .object({
    id: z.string(),
    userId: z.string(),
    role: z.string(),
    orgId: z.string().nullable(),
    approverPermission: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .openapi("Eligibility");
// Eligibilities carry elevation ids (`elv_…`).
const EligibilityId = idSchema("elevation").openapi({ param: { name: "eligibilityId", in: "path" }, type: "string" });
const listEligibilities = route({
  operationId: "listEligibilities",
  method: "get",
  path: "/v1/orgs/{orgId}/eligibilities",
  summary: "Who may elevate to which role here (members:read)",
  request: { params: z.object({ orgId: OrgId }) },
  responses: {
    200: jsonContent(z.object({ data: z.array(Eligibility) }), "Eligibilities"),
    ...problems(400, 401, 403, 404),
  },
});
const revokeEligibility = route({
  operationId: "revokeEligibility",
  method: "delete",
  path: "/v1/orgs/{orgId}/eligibilities/{eligibilityId}",
  summary: "Revoke an eligibility, ending any elevation from it (members:update)",
  request: { params: z.object({ orgId: OrgId, eligibilityId: EligibilityId }) },
  responses: { 204: { description: "Revoked" }, ...problems(400, 401, 403, 404) },
});
const listPlatformEligibilities = route({
  operationId: "listPlatformEligibilities",
  method: "get",
  path: "/v1/admin/eligibilities",
  summary: "Who may elevate to which platform role (users:read)",
  responses: { 200: jsonContent(z.object({ data: z.array(Eligibility) }), "Eligibilities"), ...problems(401, 403) },
});
const revokePlatformEligibility = route({
  operationId: "revokePlatformEligibility",
  method: "delete",
  path: "/v1/admin/eligibilities/{eligibilityId}",
  summary: "Revoke a platform eligibility, ending any elevation from it (users:manage)",
  request: { params: z.object({ eligibilityId: EligibilityId }) },
  responses: { 204: { description: "Revoked" }, ...problems(400, 401, 403, 404) },
});

const toEligibility = (row: EligibilityView) => ({ ...row, createdAt: row.createdAt.toISOString() });

const toElevation = (row: ElevationRow) => ({
  id: row.id,
  orgId: row.orgId,
  roleId: row.roleId,
  reason: row.reason,
  minutes: row.minutes,
  status: row.status,
  startsAt: row.startsAt?.toISOString() ?? null,
  endsAt: row.endsAt?.toISOString() ?? null,
});

export function elevationRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { rbac } = platform;
  return new OpenAPIHono<AppEnv>()
    .openapi(listElevations, async (c) => {
      const caller = await requireCaller(c);
      return c.json({ data: (await rbac.elevations.list(platform.db, caller.user.id)).map(toElevation) }, 200);
    })
    .openapi(requestElevation, async (c) => {
      const caller = await requireCaller(c);
      return c.json(
        toElevation(await rbac.elevations.request(caller.user.id, c.req.valid("json"), c.get("requestContext"))),
        201,
      );
    })
    .openapi(endElevation, async (c) => {
      const caller = await requireCaller(c);
      await rbac.elevations.end(caller.user.id, c.req.valid("param").elevationId, c.get("requestContext"));
      return c.body(null, 204);
    })
    .openapi(approveElevation, async (c) => {
      const caller = await requireCaller(c);
      return c.json(
        toElevation(
          await rbac.elevations.approve(caller.user.id, c.req.valid("param").elevationId, c.get("requestContext")),
        ),
        200,
      );
    })
    .openapi(makeEligible, async (c) => {
      const caller = await requireCaller(c);
      await rbac.elevations.makeEligible(
        caller.user.id,
        c.req.valid("param").orgId,
        c.req.valid("json"),
        c.get("requestContext"),
      );
      return c.body(null, 204);
    })
    .openapi(makePlatformEligible, async (c) => {
      const caller = await requireCaller(c);
      await rbac.elevations.makeEligible(caller.user.id, null, c.req.valid("json"), c.get("requestContext"));
      return c.body(null, 204);
    })
    .openapi(listEligibilities, async (c) => {
      const caller = await requireCaller(c);
      return c.json(
        { data: (await rbac.elevations.eligibilities(caller.user.id, c.req.valid("param").orgId)).map(toEligibility) },
        200,
      );
    })
    .openapi(revokeEligibility, async (c) => {
      const caller = await requireCaller(c);
      const { orgId, eligibilityId } = c.req.valid("param");
      await rbac.elevations.revokeEligibility(caller.user.id, orgId, eligibilityId, c.get("requestContext"));
      return c.body(null, 204);
    })
    .openapi(listPlatformEligibilities, async (c) => {
      const caller = await requireCaller(c);
      return c.json({ data: (await rbac.elevations.eligibilities(caller.user.id, null)).map(toEligibility) }, 200);
    })
    .openapi(revokePlatformEligibility, async (c) => {
      const caller = await requireCaller(c);
      await rbac.elevations.revokeEligibility(
        caller.user.id,
        null,
        c.req.valid("param").eligibilityId,
        c.get("requestContext"),
      );
      return c.body(null, 204);
    });
}
