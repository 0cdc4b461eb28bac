// Routes for custom roles of an organization.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema } from "@burrow/platform-core";
import { requireCaller } from "../../authenticate/index.ts";
import { type Platform } from "../../compose/platform.ts";
import { type AppEnv } from "../../env.ts";
import { jsonBody, jsonContent, problems } from "../../schemas.ts";
import { Name, OrgId, route } from "./shared.ts";

const RoleView = z
  .object({ id: z.string(), key: z.string(), name: z.string(), builtIn: z.boolean(), permissions: z.array(z.string()) })
  .openapi("Role");
const RoleId = idSchema("role").openapi({ param: { name: "roleId", in: "path" }, type: "string" });
const Permissions = z.array(z.string().max(100)).max(100);
const listRoles = route({
  operationId: "listRoles",
  method: "get",
  path: "/v1/orgs/{orgId}/roles",
  summary: "The organization's roles: built-in and custom (roles:read)",
  request: { params: z.object({ orgId: OrgId }) },
  responses: { 200: jsonContent(z.object({ data: z.array(RoleView) }), "Roles"), ...problems(400, 401, 403, 404) },
});
const createRole = route({
  operationId: "createRole",
  method: "post",
  path: "/v1/orgs/{orgId}/roles",
  summary: "Create a custom role (roles:manage; only permissions you hold)",
  request: {
    params: z.object({ orgId: OrgId }),
    body: jsonBody(z.object({ key: z.string().max(50), name: Name, permissions: Permissions })),
  },
  responses: { 201: jsonContent(RoleView, "Created"), ...problems(400, 401, 403, 404, 409, 415) },
});
const updateRole = route({
  operationId: "updateRole",
  method: "patch",
  path: "/v1/orgs/{orgId}/roles/{roleId}",
  summary: "Rename a custom role or change its permissions (roles:manage)",
  request: {
    params: z.object({ orgId: OrgId, roleId: RoleId }),
    body: jsonBody(z.object({ name: Name.optional(), permissions: Permissions.optional() })),
  },
  responses: { 200: jsonContent(RoleView, "Changed"), ...problems(400, 401, 403, 404, 415) },
});
const deleteRole = route({
  operationId: "deleteRole",
  method: "delete",
  path: "/v1/orgs/{orgId}/roles/{roleId}",
  summary: "Delete a custom role nobody holds (roles:manage)",
  request: { params: z.object({ orgId: OrgId, roleId: RoleId }) },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404, 409) },
});

export function roleRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { rbac } = platform;
  return new OpenAPIHono<AppEnv>()
    .openapi(listRoles, async (c) => {
      const caller = await requireCaller(c);
      return c.json({ data: await rbac.roles.list(caller.user.id, c.req.valid("param").orgId) }, 200);
    })
    .openapi(createRole, async (c) => {
      const caller = await requireCaller(c);
      return c.json(
        await rbac.roles.create(
          caller.user.id,
          c.req.valid("param").orgId,
          c.req.valid("json"),
          c.get("requestContext"),
        ),
        201,
      );
    })
    .openapi(updateRole, async (c) => {
      const caller = await requireCaller(c);
      const { orgId, roleId } = c.req.valid("param");
      return c.json(
        await rbac.roles.update(caller.user.id, orgId, roleId, c.req.valid("json"), c.get("requestContext")),
        200,
      );
    })
    .openapi(deleteRole, async (c) => {
      const caller = await requireCaller(c);
      const { orgId, roleId } = c.req.valid("param");
      await rbac.roles.remove(caller.user.id, orgId, roleId, c.get("requestContext"));
      return c.body(null, 204);
    });
}
