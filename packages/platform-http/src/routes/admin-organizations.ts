// Operators' view of every organization (the platform permission org:read): the service the admin
// console's Organizations page calls. Members, invitations and roles of one organization are the
// /v1/orgs/{orgId}/* routes, which platform permissions reach too.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema } from "@burrow/platform-core";
import { requireActor } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";
import { jsonContent, PageLimit, pageOf, problems, signedInOrApiKey } from "../schemas.ts";

const AdminOrganization = z
  .object({
    id: z.string(),
    name: z.string(),
    slug: z.string(),
    logoUrl: z.string().nullable(),
    members: z.number().int(),
    createdAt: z.string(),
  })
  .openapi("AdminOrganization");

const searchOrganizations = createRoute({
  operationId: "adminSearchOrganizations",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/organizations",
  tags: ["Administration"],
  summary: "Search every organization by id, name or slug (platform org:read), in id order",
  request: {
    query: z
      .object({
        query: z.string().max(200).optional(),
        cursor: idSchema("organization").optional(),
        limit: PageLimit.optional(),
      })
      .strict(),
  },
  responses: { 200: jsonContent(pageOf(AdminOrganization), "A page of organizations"), ...problems(400, 401, 403) },
});

export function adminOrganizationRoutes(platform: Platform) {
  return new OpenAPIHono<AppEnv>().openapi(searchOrganizations, async (c) => {
    const caller = await requireActor(c, "org:read");
    const { query, cursor, limit } = c.req.valid("query");
    const page = await platform.rbac.organizations.search(caller.user.id, {
      ...(query === undefined ? {} : { query }),
      ...(cursor === undefined ? {} : { cursor }),
      ...(limit === undefined ? {} : { limit }),
    });
    return c.json(
      {
        data: page.data.map((org) => ({
          id: org.id,
          name: org.name,
          slug: org.slug,
          logoUrl: org.logoUrl,
          members: org.members,
          createdAt: org.createdAt.toISOString(),
        })),
        nextCursor: page.nextCursor,
      },
      200,
    );
  });
}
