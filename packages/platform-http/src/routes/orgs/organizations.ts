// Routes for organizations, members, the permission catalogue and entitlements.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema } from "@burrow/platform-core";
import type { OrganizationRow } from "@burrow/platform-rbac";
import { requireCaller } from "../../authenticate/index.ts";
import { type Platform } from "../../compose/platform.ts";
import { type AppEnv } from "../../env.ts";
import { jsonBody, jsonContent, Metadata, problems } from "../../schemas.ts";
import { Name, OrgId, Role, route, UserId } from "./shared.ts";

const Organization = z
  .object({
    id: z.string(),
    name: z.string(),
    slug: z.string(),
    logoUrl: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    updatedAt: z.string(),
    role: z.string().optional(),
  })
  .openapi("Organization");
const Member = z
  .object({
    userId: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    role: z.string(),
    joinedAt: z.string(),
  })
  .openapi("Member");
const Slug = z.string().min(1).max(48).openapi({ example: "acme" });
const LogoUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .nullable();
const listOrgs = route({
  operationId: "listOrganizations",
  method: "get",
  path: "/v1/orgs",
  summary: "The organizations I belong to",
  responses: {
    200: jsonContent(z.object({ data: z.array(Organization) }), "Mine, with my role"),
    ...problems(401, 403),
  },
});
const createOrg = route({
  operationId: "createOrganization",
  method: "post",
  path: "/v1/orgs",
  summary: "Create an organization (I become its owner)",
  request: {
    body: jsonBody(
      z.object({ name: Name, slug: Slug.optional(), logoUrl: LogoUrl.optional(), metadata: Metadata.optional() }),
    ),
  },
  responses: { 201: jsonContent(Organization, "Created"), ...problems(400, 401, 403, 409, 415) },
});
const getOrg = route({
  operationId: "getOrganization",
  method: "get",
  path: "/v1/orgs/{orgId}",
  summary: "An organization I can see",
  request: { params: z.object({ orgId: OrgId }) },
  responses: { 200: jsonContent(Organization, "The organization"), ...problems(400, 401, 403, 404) },
});
const updateOrg = route({
  operationId: "updateOrganization",
  method: "patch",
  path: "/v1/orgs/{orgId}",
  summary: "Rename, re-slug or change the logo and metadata (org:update)",
  request: {
    params: z.object({ orgId: OrgId }),
    body: jsonBody(
      z.object({
        name: Name.optional(),
        slug: Slug.optional(),
        logoUrl: LogoUrl.optional(),
        metadata: Metadata.optional(),
      }),
    ),
  },
  responses: { 200: jsonContent(Organization, "Updated"), ...problems(400, 401, 403, 404, 409, 415) },
});
const deleteOrg = route({
  operationId: "deleteOrganization",
  method: "delete",
  path: "/v1/orgs/{orgId}",
  summary: "Delete an organization (owners; recent re-authentication required)",
  request: { params: z.object({ orgId: OrgId }) },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404) },
});
const listMembers = route({
  operationId: "listMembers",
  method: "get",
  path: "/v1/orgs/{orgId}/members",
  summary: "Members (members:read)",
  request: { params: z.object({ orgId: OrgId }) },
  responses: { 200: jsonContent(z.object({ data: z.array(Member) }), "Members"), ...problems(400, 401, 403, 404) },
});
const changeRole = route({
  operationId: "changeMemberRole",
  method: "patch",
  path: "/v1/orgs/{orgId}/members/{userId}",
  summary: "Change a member's role (members:update; never beyond your own)",
  request: { params: z.object({ orgId: OrgId, userId: UserId }), body: jsonBody(z.object({ role: Role })) },
  responses: { 204: { description: "Changed" }, ...problems(400, 401, 403, 404, 409, 415) },
});
const removeMember = route({
  operationId: "removeMember",
  method: "delete",
  path: "/v1/orgs/{orgId}/members/{userId}",
  summary: "Remove a member (members:remove), or leave (your own id)",
  request: { params: z.object({ orgId: OrgId, userId: UserId }) },
  responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404, 409) },
});
const transfer = route({
  operationId: "transferOwnership",
  method: "post",
  path: "/v1/orgs/{orgId}/transfer-ownership",
  summary: "Make another member owner (owners); you become admin",
  request: {
    params: z.object({ orgId: OrgId }),
    body: jsonBody(z.object({ userId: idSchema("user").openapi({ type: "string" }) })),
  },
  responses: { 204: { description: "Transferred" }, ...problems(400, 401, 403, 404, 415) },
});
const catalogue = route({
  operationId: "listPermissions",
  method: "get",
  path: "/v1/permissions",
  summary: "The permission catalogue",
  responses: {
    200: jsonContent(
      z.object({ data: z.array(z.object({ permission: z.string(), description: z.string() })) }),
      "Permissions",
    ),
    ...problems(401),
  },
});
const myPermissions = route({
  operationId: "listMyPermissions",
  method: "get",
  path: "/v1/me/permissions",
  summary: "My effective permissions, in an organization if named",
  request: { query: z.object({ orgId: idSchema("organization").openapi({ type: "string" }).optional() }) },
  responses: {
    200: jsonContent(
      z.object({ orgId: z.string().nullable(), role: z.string().nullable(), permissions: z.array(z.string()) }),
      "Effective permissions (patterns)",
    ),
    ...problems(400, 401, 403),
  },
});

const entitlementsRoute = route({
  operationId: "listEntitlements",
  method: "get",
  path: "/v1/entitlements",
  summary: "My resolved features and limits, with the organization's when named",
  request: { query: z.object({ orgId: idSchema("organization").openapi({ type: "string" }).optional() }) },
  responses: {
    200: jsonContent(
      z.object({
        orgId: z.string().nullable(),
        features: z.record(z.string(), z.object({ enabled: z.boolean(), limit: z.number().nullable().optional() })),
      }),
      "Entitlements",
    ),
    ...problems(400, 401, 403, 404),
  },
});

const toOrganization = (row: OrganizationRow & { role?: string }) => ({
  id: row.id,
  name: row.name,
  slug: row.slug,
  logoUrl: row.logoUrl,
  metadata: row.metadata,
  createdAt: row.createdAt.toISOString(),
  updatedAt: row.updatedAt.toISOString(),
  ...(row.role === undefined ? {} : { role: row.role }),
});

export function organizationRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { rbac } = platform;
  const orgs = rbac.organizations;
  return new OpenAPIHono<AppEnv>()
    .openapi(listOrgs, async (c) => {
      const caller = await requireCaller(c);
      return c.json({ data: (await orgs.listMine(platform.db, caller.user.id)).map(toOrganization) }, 200);
    })
    .openapi(createOrg, async (c) => {
      const caller = await requireCaller(c);
      return c.json(
        toOrganization(await orgs.create(caller.user.id, c.req.valid("json"), c.get("requestContext"))),
        201,
      );
    })
    .openapi(getOrg, async (c) => {
      const caller = await requireCaller(c);
      return c.json(toOrganization(await orgs.get(caller.user.id, c.req.valid("param").orgId)), 200);
    })
    .openapi(updateOrg, async (c) => {
      const caller = await requireCaller(c);
      return c.json(
        toOrganization(
          await orgs.update(caller.user.id, c.req.valid("param").orgId, c.req.valid("json"), c.get("requestContext")),
        ),
        200,
      );
    })
    .openapi(deleteOrg, async (c) => {
      const caller = await requireCaller(c);
      const { orgId } = c.req.valid("param");
      await orgs.remove(caller.session, orgId, c.get("requestContext"));
      return c.body(null, 204);
    })
    .openapi(listMembers, async (c) => {
      const caller = await requireCaller(c);
      const members = await orgs.members(caller.user.id, c.req.valid("param").orgId);
      return c.json({ data: members.map((member) => ({ ...member, joinedAt: member.joinedAt.toISOString() })) }, 200);
    })
    .openapi(changeRole, async (c) => {
      const caller = await requireCaller(c);
      const { orgId, userId } = c.req.valid("param");
      await orgs.changeRole(caller.user.id, orgId, userId, c.req.valid("json").role, c.get("requestContext"));
      return c.body(null, 204);
    })
    .openapi(removeMember, async (c) => {
      const caller = await requireCaller(c);
      const { orgId, userId } = c.req.valid("param");
      await orgs.removeMember(caller.user.id, orgId, userId, c.get("requestContext"));
      return c.body(null, 204);
    })
    .openapi(transfer, async (c) => {
      const caller = await requireCaller(c);
      await orgs.transferOwnership(
        caller.user.id,
        c.req.valid("param").orgId,
        c.req.valid("json").userId,
        c.get("requestContext"),
      );
      return c.body(null, 204);
    })
    .openapi(entitlementsRoute, async (c) => {
      const caller = await requireCaller(c);
      const orgId = c.req.valid("query").orgId ?? null;
      // An organization's plan is its members' business only.
      if (orgId !== null) await orgs.get(caller.user.id, orgId);
      return c.json({ orgId, features: await rbac.entitlements.resolve({ userId: caller.user.id, orgId }) }, 200);
    })
    .openapi(catalogue, async (c) => {
      await requireCaller(c);
      return c.json(
        { data: Object.entries(rbac.catalogue).map(([permission, description]) => ({ permission, description })) },
        200,
      );
    })
    .openapi(myPermissions, async (c) => {
      const caller = await requireCaller(c);
      const orgId = c.req.valid("query").orgId ?? null;
      const resolved = await rbac.resolver.resolve(caller.user.id, orgId);
      return c.json({ orgId, role: resolved.orgRole, permissions: [...resolved.patterns].sort() }, 200);
    });
}
