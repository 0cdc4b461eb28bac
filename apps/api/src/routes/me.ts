import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { requireCaller } from "../middleware/authenticate.ts";
import type { Platform } from "../platform.ts";
import { jsonBody, jsonContent, Metadata, problems, User } from "../schemas.ts";

const tags = ["Profile"];

const getMe = createRoute({
  method: "get",
  path: "/v1/me",
  tags,
  summary: "The caller's profile",
  responses: { 200: jsonContent(User, "Profile"), ...problems(401) },
});

const patchMe = createRoute({
  method: "patch",
  path: "/v1/me",
  tags,
  summary: "Edit name, avatar URL and metadata",
  description: "Only `name`, `avatarUrl` and `metadata` may be set; any other field (status, email, privateMetadata, id, …) is refused with 400 and nothing changes.",
  request: {
    body: jsonBody(
      z
        .object({
          name: z.string().trim().min(1).max(200).nullable().optional(),
          avatarUrl: z.url({ protocol: /^https?$/, message: "Must be an http(s) URL" }).max(2048).nullable().optional(),
          metadata: Metadata.optional(),
        })
        .strict(),
    ),
  },
  responses: { 200: jsonContent(User, "Updated profile"), ...problems(400, 401, 403, 415) },
});

export function meRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>()
    .openapi(getMe, async (c) => {
      const caller = await requireCaller(c);
      return c.json(caller.user, 200);
    })
    .openapi(patchMe, async (c) => {
      const caller = await requireCaller(c);
      const user = await platform.db.transaction((tx) => platform.auth.users.updateProfile(tx, caller.user.id, c.req.valid("json"), c.get("requestContext")));
      return c.json(user, 200);
    });
}
