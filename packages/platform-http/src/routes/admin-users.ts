// Operators' user management over HTTP (users:read, users:manage): the same service the admin app calls.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema, type UserId } from "@burrow/platform-core";
import { toPublicUser, USER_STATUSES } from "@burrow/platform-auth";
import { type Caller, requireActor } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";
import { USERS_IMPERSONATE, USERS_MANAGE, USERS_READ } from "@burrow/platform-ops";
import {
  AccountEmail,
  jsonBody,
  jsonContent,
  PageLimit,
  pageOf,
  problems,
  ProfileChanges,
  User,
  signedInOrApiKey,
} from "../schemas.ts";

const tags = ["Administration"];
const UserParam = z.object({ userId: idSchema("user") });

const searchUsers = createRoute({
  operationId: "adminSearchUsers",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/users",
  tags,
  summary: "Search users by id, email or name (users:read), in id order",
  description: "`query` matches an id exactly, or part of an email or name. Pages by `cursor` (from `nextCursor`).",
  request: {
    query: z
      .object({
        query: z.string().max(320).optional(),
        status: z.enum(USER_STATUSES).optional(),
        cursor: idSchema("user").optional(),
        limit: PageLimit.optional(),
      })
      .strict(),
  },
  responses: {
    200: jsonContent(pageOf(User), "A page of users"),
    ...problems(400, 401, 403),
  },
});

const getUser = createRoute({
  operationId: "adminGetUser",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/users/{userId}",
  tags,
  summary: "Read a user (users:read)",
  request: { params: UserParam },
  responses: { 200: jsonContent(User, "The user"), ...problems(400, 401, 403, 404) },
});

const AddressParam = UserParam.extend({
  emailId: idSchema("email").openapi({ param: { name: "emailId", in: "path" }, type: "string" }),
});

const listUserEmails = createRoute({
  operationId: "adminListUserEmails",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/users/{userId}/emails",
  tags,
  summary: "A user's email addresses, primary first (users:read)",
  request: { params: UserParam },
  responses: {
    200: jsonContent(z.object({ data: z.array(AccountEmail) }), "Addresses"),
    ...problems(400, 401, 403, 404),
  },
});

const verifyUserEmail = createRoute({
  operationId: "adminVerifyUserEmail",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/users/{userId}/emails/{emailId}/verify",
  tags,
  summary: "Mark one of a user's added addresses verified (users:manage)",
  description:
    "Refused (409 `email_taken`) when another account has verified the address. Audited with the operator as actor.",
  request: { params: AddressParam },
  responses: { 200: jsonContent(AccountEmail, "The address"), ...problems(400, 401, 403, 404, 409) },
});

const removeUserEmail = createRoute({
  operationId: "adminRemoveUserEmail",
  security: signedInOrApiKey,
  method: "delete",
  path: "/v1/admin/users/{userId}/emails/{emailId}",
  tags,
  summary: "Remove one of a user's added addresses (users:manage)",
  description:
    "Never the user's only verified address (409 `last_verified_email`). Audited with the operator as actor.",
  request: { params: AddressParam },
  responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404, 409) },
});

const action = (name: "suspend" | "unsuspend" | "unlock", summary: string, extra: (409 | 400)[] = []) =>
  createRoute({
    operationId: `admin${name[0]!.toUpperCase()}${name.slice(1)}User`,
    security: signedInOrApiKey,
    method: "post",
    path: `/v1/admin/users/{userId}/${name}`,
    tags,
    summary: `${summary} (users:manage)`,
    request: { params: UserParam },
    responses: { 200: jsonContent(User, "The user after the change"), ...problems(400, 401, 403, 404, ...extra) },
  });
const ACTIONS = [
  { name: "suspend", route: action("suspend", "Suspend the account and end every session it has") },
  { name: "unsuspend", route: action("unsuspend", "Lift a suspension", [409]) },
  { name: "unlock", route: action("unlock", "Clear the sign-in lock on the user's address") },
] as const;

const createUser = createRoute({
  operationId: "adminCreateUser",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/users",
  tags,
  summary: "Make an account whose owner sets it up through a mailed link (users:manage)",
  description:
    "The account is `invited` (it cannot sign in) until its owner opens the account-setup link (72 hours, once) and chooses a password, which also confirms the address. `sendSetupEmail: false` makes it without mailing the link.",
  request: {
    body: jsonBody(
      z
        .object({
          email: z.email().max(254),
          name: z.string().trim().max(200).nullable().optional(),
          sendSetupEmail: z.boolean().optional(),
        })
        .strict(),
    ),
  },
  responses: { 201: jsonContent(User, "The new account"), ...problems(400, 401, 403, 409, 415) },
});

const impersonateUser = createRoute({
  operationId: "adminImpersonateUser",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/users/{userId}/impersonate",
  tags,
  summary: "A one-time link to act as the user for 30 minutes (users:impersonate)",
  description:
    "Open the link (5 minutes, once) in the browser that should act as the user: its hosted page starts a 30-minute session as them, whose every audit entry names you (`metadata.impersonatedBy`) and which never passes a step-up. Never for yourself, an operator or an account that is not active. A session caller must have authenticated in the last 10 minutes.",
  request: { params: UserParam },
  responses: {
    201: jsonContent(z.object({ url: z.string(), expiresAt: z.string() }), "The link"),
    ...problems(400, 401, 403, 404, 409),
  },
});

const updateUser = createRoute({
  operationId: "adminUpdateUser",
  security: signedInOrApiKey,
  method: "patch",
  path: "/v1/admin/users/{userId}",
  tags,
  summary: "Edit a user's name, avatar URL and metadata (users:manage)",
  request: { params: UserParam, body: jsonBody(ProfileChanges) },
  responses: { 200: jsonContent(User, "The user after the change"), ...problems(400, 401, 403, 404, 415) },
});

const revokeSessions = createRoute({
  operationId: "adminRevokeUserSessions",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/users/{userId}/revoke-sessions",
  tags,
  summary: "End every session of the user, and the refresh tokens on them (users:manage)",
  request: { params: UserParam },
  responses: {
    200: jsonContent(z.object({ revoked: z.number().int() }), "How many sessions were ended"),
    ...problems(400, 401, 403, 404),
  },
});

const deleteUser = createRoute({
  operationId: "adminDeleteUser",
  security: signedInOrApiKey,
  method: "delete",
  path: "/v1/admin/users/{userId}",
  tags,
  summary: "Delete the account: its address is freed and every session ends (users:manage)",
  description:
    "Refused with 409 `last_owner` while the account is the only owner of an organization (listed in the problem's `organizations`): make another member an owner, or delete the organization, first.",
  request: { params: UserParam },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404, 409) },
});

/** A person acting through a session steps up for destructive actions; an API key has no session to. */
const stepUpOf = (caller: Caller) => (caller.kind === "session" ? caller.session : undefined);

export function adminUserRoutes(platform: Platform) {
  const admin = platform.userAdministration;
  const target = (param: { userId: string }) => param.userId as UserId;
  const app = new OpenAPIHono<AppEnv>()
    .openapi(searchUsers, async (c) => {
      const caller = await requireActor(c, USERS_READ);
      const { query, status, cursor, limit } = c.req.valid("query");
      const page = await admin.search(caller.user.id, {
        ...(query === undefined ? {} : { query }),
        ...(status === undefined ? {} : { status }),
        ...(cursor === undefined ? {} : { cursor }),
        ...(limit === undefined ? {} : { limit }),
      });
      return c.json({ data: page.data.map(toPublicUser), nextCursor: page.nextCursor }, 200);
    })
    .openapi(createUser, async (c) => {
      const caller = await requireActor(c, USERS_MANAGE);
      return c.json(
        toPublicUser(await admin.create(caller.user.id, c.req.valid("json"), c.get("requestContext"))),
        201,
      );
    })
    .openapi(impersonateUser, async (c) => {
      const caller = await requireActor(c, USERS_IMPERSONATE);
      const link = await admin.impersonate(
        caller.user.id,
        target(c.req.valid("param")),
        c.get("requestContext"),
        stepUpOf(caller),
      );
      return c.json({ url: link.url, expiresAt: link.expiresAt.toISOString() }, 201);
    })
    .openapi(getUser, async (c) => {
      const caller = await requireActor(c, USERS_READ);
      return c.json(toPublicUser(await admin.get(caller.user.id, target(c.req.valid("param")))), 200);
    })
    .openapi(updateUser, async (c) => {
      const caller = await requireActor(c, USERS_MANAGE);
      const row = await admin.update(
        caller.user.id,
        target(c.req.valid("param")),
        c.req.valid("json"),
        c.get("requestContext"),
      );
      return c.json(toPublicUser(row), 200);
    })
    .openapi(revokeSessions, async (c) => {
      const caller = await requireActor(c, USERS_MANAGE);
      const revoked = await admin.revokeSessions(
        caller.user.id,
        target(c.req.valid("param")),
        c.get("requestContext"),
        stepUpOf(caller),
      );
      return c.json({ revoked }, 200);
    })
    .openapi(deleteUser, async (c) => {
      const caller = await requireActor(c, USERS_MANAGE);
      await admin.delete(caller.user.id, target(c.req.valid("param")), c.get("requestContext"), stepUpOf(caller));
      return c.body(null, 204);
    });
  app
    .openapi(listUserEmails, async (c) => {
      const caller = await requireActor(c, USERS_READ);
      const details = await admin.details(caller.user.id, target(c.req.valid("param")));
      return c.json({ data: details.emails }, 200);
    })
    .openapi(verifyUserEmail, async (c) => {
      const caller = await requireActor(c, USERS_MANAGE);
      const { emailId, ...param } = c.req.valid("param");
      return c.json(
        await admin.markAddressVerified(caller.user.id, target(param), emailId, c.get("requestContext")),
        200,
      );
    })
    .openapi(removeUserEmail, async (c) => {
      const caller = await requireActor(c, USERS_MANAGE);
      const { emailId, ...param } = c.req.valid("param");
      await admin.removeAddress(caller.user.id, target(param), emailId, c.get("requestContext"));
      return c.body(null, 204);
    });
  // Suspend, unsuspend and unlock: the same shape, each one service call that answers with the user.
  for (const { name, route } of ACTIONS)
    app.openapi(route, async (c) => {
      const caller = await requireActor(c, USERS_MANAGE);
      const row = await admin[name](caller.user.id, target(c.req.valid("param")), c.get("requestContext"));
      return c.json(toPublicUser(row), 200);
    });
  return app;
}
