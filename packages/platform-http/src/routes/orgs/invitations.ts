// Routes for invitations to an organization.
import { OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema } from "@burrow/platform-core";
import type { InvitationView } from "@burrow/platform-rbac";
import { requireCaller } from "../../authenticate/index.ts";
import { type Platform } from "../../compose/platform.ts";
import { type AppEnv } from "../../env.ts";
import { Email, jsonBody, jsonContent, PasswordInput, problems } from "../../schemas.ts";
import { signedInResponse } from "../signed-in.ts";
import { OrgId, Role, route } from "./shared.ts";

const Invitation = z
  .object({
    id: z.string(),
    email: z.string(),
    role: z.string().openapi({ description: "The role the invitation grants", example: "member" }),
    status: z.enum(["pending", "accepted", "revoked", "expired"]),
    expiresAt: z.string(),
    createdAt: z.string(),
  })
  .openapi("Invitation");
const InvitationId = idSchema("invitation").openapi({ param: { name: "invitationId", in: "path" }, type: "string" });
const listInvitations = route({
  operationId: "listInvitations",
  method: "get",
  path: "/v1/orgs/{orgId}/invitations",
  summary: "Invitations (members:invite)",
  request: { params: z.object({ orgId: OrgId }) },
  responses: {
    200: jsonContent(z.object({ data: z.array(Invitation) }), "Invitations"),
    ...problems(400, 401, 403, 404),
  },
});
const invite = route({
  operationId: "inviteMember",
  method: "post",
  path: "/v1/orgs/{orgId}/invitations",
  summary:
    "Invite someone by email (members:invite; never to a role beyond your own); sending again replaces the pending one",
  request: { params: z.object({ orgId: OrgId }), body: jsonBody(z.object({ email: Email, role: Role })) },
  responses: { 201: jsonContent(Invitation, "Sent"), ...problems(400, 401, 403, 404, 409, 415) },
});
const revokeInvitation = route({
  operationId: "revokeInvitation",
  method: "delete",
  path: "/v1/orgs/{orgId}/invitations/{invitationId}",
  summary: "Revoke an invitation",
  request: { params: z.object({ orgId: OrgId, invitationId: InvitationId }) },
  responses: { 204: { description: "Revoked" }, ...problems(400, 401, 403, 404) },
});
const acceptInvitation = route({
  operationId: "acceptInvitation",
  method: "post",
  path: "/v1/invitations/accept",
  summary:
    "Accept an invitation: signed in with the invited (verified) address, or with a password to create the account",
  // Two exact shapes (not a mass-assignment case): strict, so one cannot pass for the other.
  request: {
    body: jsonBody(
      z.union([
        z
          .object({
            token: z.string().min(1).max(200),
            password: PasswordInput,
            name: z.string().trim().min(1).max(200).optional(),
          })
          .strict(),
        z.object({ token: z.string().min(1).max(200) }).strict(),
      ]),
    ),
  },
  responses: {
    200: jsonContent(z.object({ orgId: z.string() }).passthrough(), "Joined"),
    ...problems(400, 401, 403, 409, 415, 422),
  },
});

const toInvitation = (row: InvitationView, now: Date) => ({
  id: row.id,
  email: row.email,
  role: row.role,
  status:
    row.acceptedAt !== null
      ? ("accepted" as const)
      : row.revokedAt !== null
        ? ("revoked" as const)
        : row.expiresAt <= now
          ? ("expired" as const)
          : ("pending" as const),
  expiresAt: row.expiresAt.toISOString(),
  createdAt: row.createdAt.toISOString(),
});

export function invitationRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { invitations } = platform;
  return new OpenAPIHono<AppEnv>()
    .openapi(listInvitations, async (c) => {
      const caller = await requireCaller(c);
      const rows = await invitations.list(caller.user.id, c.req.valid("param").orgId);
      return c.json({ data: rows.map((row) => toInvitation(row, platform.clock.now())) }, 200);
    })
    .openapi(invite, async (c) => {
      const caller = await requireCaller(c);
      const row = await invitations.invite(
        caller.user.id,
        c.req.valid("param").orgId,
        c.req.valid("json"),
        c.get("requestContext"),
      );
      return c.json(toInvitation(row, platform.clock.now()), 201);
    })
    .openapi(revokeInvitation, async (c) => {
      const caller = await requireCaller(c);
      const { orgId, invitationId } = c.req.valid("param");
      await invitations.revoke(caller.user.id, orgId, invitationId, c.get("requestContext"));
      return c.body(null, 204);
    })
    .openapi(acceptInvitation, async (c) => {
      const body = c.req.valid("json");
      if ("password" in body) {
        const { orgId, signedIn } = await invitations.acceptWithNewAccount(body, c.get("requestContext"));
        return c.json({ orgId, ...signedInResponse(c, platform, signedIn) }, 200);
      }
      const caller = await requireCaller(c);
      return c.json(await invitations.accept(caller.session, body.token, c.get("requestContext")), 200);
    });
}
