import { createRoute, z } from "@hono/zod-openapi";
import { idSchema } from "@burrow/platform-core";
import { signedIn } from "../../schemas.ts";

// What the organization routes share. They drop fields that do not belong (`role`, `orgId`,
// `ownerId` where they have no place) instead of refusing them: the authorization issue asks for
// mass-assignment attempts to be ignored.

export const tags = ["Organizations"];
/** An organization route: every one needs a signed-in user (cookie, session token or access token). */
export const route = <R extends Parameters<typeof createRoute>[0]>(definition: R) =>
  createRoute({ tags, security: signedIn, ...definition });
export const OrgId = idSchema("organization").openapi({ param: { name: "orgId", in: "path" }, type: "string" });
export const UserId = idSchema("user").openapi({ param: { name: "userId", in: "path" }, type: "string" });
export const Role = z.string().regex(/^[a-z][a-z0-9_]{0,49}$/, "A role key such as admin");
export const Name = z.string().trim().min(1).max(100);
