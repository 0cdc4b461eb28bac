import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { requireActor, requireSession } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { clearSessionCookie } from "../cookies.ts";
import { type AppEnv } from "../env.ts";
import { idSchema, PlatformError } from "@burrow/platform-core";
import type { PhoneRow } from "@burrow/platform-auth";
import {
  E164Phone,
  jsonBody,
  jsonContent,
  Phone,
  ProfileChanges,
  problems,
  User,
  signedIn,
  signedInOrApiKey,
} from "../schemas.ts";

const tags = ["Profile"];

const getMe = createRoute({
  operationId: "getMe",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/me",
  tags,
  summary: "The caller's profile",
  responses: { 200: jsonContent(User, "Profile"), ...problems(401) },
});

const patchMe = createRoute({
  operationId: "updateMe",
  security: signedInOrApiKey,
  method: "patch",
  path: "/v1/me",
  tags,
  summary: "Edit name, avatar URL and metadata",
  description:
    "Only `name`, `avatarUrl` and `metadata` may be set; any other field (status, email, privateMetadata, id, …) is refused with 400 and nothing changes.",
  request: {
    body: jsonBody(ProfileChanges),
  },
  responses: { 200: jsonContent(User, "Updated profile"), ...problems(400, 401, 403, 415) },
});

const deleteMe = createRoute({
  operationId: "deleteMe",
  security: signedIn,
  method: "delete",
  path: "/v1/me",
  tags,
  summary: "Delete my account (recent re-authentication required)",
  description:
    "Soft-deletes the account: every session, refresh token and API key stops working at once, and the address is free again. Refused with 409 `last_owner` while the account is the only owner of an organization (listed in the problem's `organizations`): make another member an owner, or delete the organization, first.",
  responses: { 204: { description: "Deleted" }, ...problems(401, 403, 409) },
});

const listPhones = createRoute({
  operationId: "listPhones",
  security: signedIn,
  method: "get",
  path: "/v1/me/phones",
  tags,
  summary: "The caller's phone numbers",
  responses: { 200: jsonContent(z.object({ data: z.array(Phone) }), "Phone numbers"), ...problems(401) },
});
const addPhone = createRoute({
  operationId: "addPhone",
  security: signedIn,
  method: "post",
  path: "/v1/me/phones",
  tags,
  summary: "Add a phone number: a 6-digit code is texted to it (10 minutes, 5 tries)",
  request: { body: jsonBody(z.object({ phone: E164Phone }).strict()) },
  responses: {
    202: jsonContent(Phone, "Code sent; the number is unverified until confirmed"),
    ...problems(400, 401, 403, 415, 429, 503),
  },
});
const verifyPhone = createRoute({
  operationId: "verifyPhone",
  security: signedIn,
  method: "post",
  path: "/v1/me/phones/verify",
  tags,
  summary: "Confirm a phone number with the texted code",
  request: {
    body: jsonBody(z.object({ phone: E164Phone, code: z.string().regex(/^\d{6}$/, "Must be 6 digits") }).strict()),
  },
  responses: { 200: jsonContent(Phone, "Verified"), ...problems(400, 401, 403, 409, 415) },
});
const removePhone = createRoute({
  operationId: "removePhone",
  security: signedIn,
  method: "delete",
  path: "/v1/me/phones/{phoneId}",
  tags,
  summary: "Remove one of the caller's phone numbers",
  request: {
    params: z.object({
      phoneId: idSchema("phone").openapi({ param: { name: "phoneId", in: "path" }, type: "string" }),
    }),
  },
  responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404) },
});

const toPhone = (row: PhoneRow) => ({
  id: row.id,
  phone: row.phone,
  isPrimary: row.isPrimary,
  verifiedAt: row.verifiedAt?.toISOString() ?? null,
  createdAt: row.createdAt.toISOString(),
});

export function meRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>()
    .openapi(getMe, async (c) => {
      const caller = await requireActor(c, "profile:read");
      return c.json(caller.user, 200);
    })
    .openapi(patchMe, async (c) => {
      const caller = await requireActor(c, "profile:write");
      const user = await platform.db.transaction((tx) =>
        platform.auth.users.updateProfile(tx, caller.user.id, c.req.valid("json"), c.get("requestContext")),
      );
      return c.json(user, 200);
    })
    .openapi(deleteMe, async (c) => {
      const caller = await requireSession(c);
      await platform.auth.users.deleteOwn(caller.session, c.get("requestContext"));
      clearSessionCookie(c, platform.config);
      return c.body(null, 204);
    })
    .openapi(listPhones, async (c) => {
      const caller = await requireSession(c);
      return c.json({ data: (await platform.auth.phones.list(platform.db, caller.user.id)).map(toPhone) }, 200);
    })
    .openapi(addPhone, async (c) => {
      const caller = await requireSession(c);
      if (platform.email.smsTransport.name === "none")
        throw new PlatformError("service_unavailable", {
          detail: "Text messages are not configured on this deployment.",
        });
      return c.json(
        toPhone(await platform.auth.phones.add(caller.user.id, c.req.valid("json").phone, c.get("requestContext"))),
        202,
      );
    })
    .openapi(verifyPhone, async (c) => {
      const caller = await requireSession(c);
      const body = c.req.valid("json");
      return c.json(
        toPhone(await platform.auth.phones.verify(caller.user.id, body.phone, body.code, c.get("requestContext"))),
        200,
      );
    })
    .openapi(removePhone, async (c) => {
      const caller = await requireSession(c);
      await platform.auth.phones.remove(caller.user.id, c.req.valid("param").phoneId, c.get("requestContext"));
      return c.body(null, 204);
    });
}
