import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema } from "@burrow/platform-core";
import type { EligibilityView, ElevationRow, InvitationView, OrganizationRow } from "@burrow/platform-rbac";
import type { AppEnv } from "../env.ts";
import { requireCaller } from "../middleware/authenticate.ts";
import type { Platform } from "../platform.ts";
import { Email, jsonBody, jsonContent, Metadata, PasswordInput, problems } from "../schemas.ts";
import { signedInResponse } from "./signed-in.ts";

const tags = ["Organizations"];
// These routes drop fields that do not belong (`role`, `orgId`, `ownerId` where they have no place)
// instead of refusing them: the authorization issue asks for mass-assignment attempts to be ignored.

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
const OrgId = idSchema("organization").openapi({ param: { name: "orgId", in: "path" }, type: "string" });
const UserId = idSchema("user").openapi({ param: { name: "userId", in: "path" }, type: "string" });
const Name = z.string().trim().min(1).max(100);
const Slug = z.string().min(1).max(48).openapi({ example: "acme" });
const LogoUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .nullable();
const Role = z.string().regex(/^[a-z][a-z0-9_]{0,49}$/, "A role key such as admin");

const route = <R extends Parameters<typeof createRoute>[0]>(definition: R) => createRoute({ tags, ...definition });
const listOrgs = route({
  method: "get",
  path: "/v1/orgs",
  summary: "The organizations I belong to",
  responses: {
    200: jsonContent(z.object({ data: z.array(Organization) }), "Mine, with my role"),
    ...problems(401, 403),
  },
});
const createOrg = route({
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
  method: "get",
  path: "/v1/orgs/{orgId}",
  summary: "An organization I can see",
  request: { params: z.object({ orgId: OrgId }) },
  responses: { 200: jsonContent(Organization, "The organization"), ...problems(400, 401, 403, 404) },
});
const updateOrg = route({
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
  method: "delete",
  path: "/v1/orgs/{orgId}",
  summary: "Delete an organization (owners; recent re-authentication required)",
  request: { params: z.object({ orgId: OrgId }) },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404) },
});
const listMembers = route({
  method: "get",
  path: "/v1/orgs/{orgId}/members",
  summary: "Members (members:read)",
  request: { params: z.object({ orgId: OrgId }) },
  responses: { 200: jsonContent(z.object({ data: z.array(Member) }), "Members"), ...problems(400, 401, 403, 404) },
});
const changeRole = route({
  method: "patch",
  path: "/v1/orgs/{orgId}/members/{userId}",
  summary: "Change a member's role (members:update; never beyond your own)",
  request: { params: z.object({ orgId: OrgId, userId: UserId }), body: jsonBody(z.object({ role: Role })) },
  responses: { 204: { description: "Changed" }, ...problems(400, 401, 403, 404, 409, 415) },
});
const removeMember = route({
  method: "delete",
  path: "/v1/orgs/{orgId}/members/{userId}",
  summary: "Remove a member (members:remove), or leave (your own id)",
  request: { params: z.object({ orgId: OrgId, userId: UserId }) },
  responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404, 409) },
});
const transfer = route({
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
  method: "post",
  path: "/v1/orgs/{orgId}/invitations",
  summary:
    "Invite someone by email (members:invite; never to a role beyond your own); sending again replaces the pending one",
  request: { params: z.object({ orgId: OrgId }), body: jsonBody(z.object({ email: Email, role: Role })) },
  responses: { 201: jsonContent(Invitation, "Sent"), ...problems(400, 401, 403, 404, 409, 415) },
});
const revokeInvitation = route({
  method: "delete",
  path: "/v1/orgs/{orgId}/invitations/{invitationId}",
  summary: "Revoke an invitation",
  request: { params: z.object({ orgId: OrgId, invitationId: InvitationId }) },
  responses: { 204: { description: "Revoked" }, ...problems(400, 401, 403, 404) },
});
const acceptInvitation = route({
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

const RoleView = z
  .object({ id: z.string(), key: z.string(), name: z.string(), builtIn: z.boolean(), permissions: z.array(z.string()) })
  .openapi("Role");
const RoleId = idSchema("role").openapi({ param: { name: "roleId", in: "path" }, type: "string" });
const Permissions = z.array(z.string().max(100)).max(100);
const listRoles = route({
  method: "get",
  path: "/v1/orgs/{orgId}/roles",
  summary: "The organization's roles: built-in and custom (roles:read)",
  request: { params: z.object({ orgId: OrgId }) },
  responses: { 200: jsonContent(z.object({ data: z.array(RoleView) }), "Roles"), ...problems(400, 401, 403, 404) },
});
const createRole = route({
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
  method: "delete",
  path: "/v1/orgs/{orgId}/roles/{roleId}",
  summary: "Delete a custom role nobody holds (roles:manage)",
  request: { params: z.object({ orgId: OrgId, roleId: RoleId }) },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404, 409) },
});

const entitlementsRoute = route({
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
  method: "get",
  path: "/v1/elevations",
  summary: "My elevations",
  responses: { 200: jsonContent(z.object({ data: z.array(Elevation) }), "Elevations"), ...problems(401, 403) },
});
const requestElevation = route({
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
  method: "delete",
  path: "/v1/elevations/{elevationId}",
  summary: "End an elevation early",
  request: { params: z.object({ elevationId: ElevationId }) },
  responses: { 204: { description: "Ended" }, ...problems(400, 401, 403, 404) },
});
const approveElevation = route({
  method: "post",
  path: "/v1/elevations/{elevationId}/approve",
  summary: "Approve someone else's pending elevation",
  request: { params: z.object({ elevationId: ElevationId }) },
  responses: { 200: jsonContent(Elevation, "Started"), ...problems(400, 401, 403, 404, 409) },
});
const makeEligible = route({
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
  method: "delete",
  path: "/v1/orgs/{orgId}/eligibilities/{eligibilityId}",
  summary: "Revoke an eligibility, ending any elevation from it (members:update)",
  request: { params: z.object({ orgId: OrgId, eligibilityId: EligibilityId }) },
  responses: { 204: { description: "Revoked" }, ...problems(400, 401, 403, 404) },
});
const listPlatformEligibilities = route({
  method: "get",
  path: "/v1/admin/eligibilities",
  summary: "Who may elevate to which platform role (users:read)",
  responses: { 200: jsonContent(z.object({ data: z.array(Eligibility) }), "Eligibilities"), ...problems(401, 403) },
});
const revokePlatformEligibility = route({
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

export function orgRoutes(platform: Platform): OpenAPIHono<AppEnv> {
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
    .openapi(listInvitations, async (c) => {
      const caller = await requireCaller(c);
      const rows = await rbac.invitations!.list(caller.user.id, c.req.valid("param").orgId);
      return c.json({ data: rows.map((row) => toInvitation(row, platform.clock.now())) }, 200);
    })
    .openapi(invite, async (c) => {
      const caller = await requireCaller(c);
      const row = await rbac.invitations!.invite(
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
      await rbac.invitations!.revoke(caller.user.id, orgId, invitationId, c.get("requestContext"));
      return c.body(null, 204);
    })
    .openapi(acceptInvitation, async (c) => {
      const body = c.req.valid("json");
      if ("password" in body) {
        const { orgId, signedIn } = await rbac.invitations!.acceptWithNewAccount(body, c.get("requestContext"));
        return c.json({ orgId, ...signedInResponse(c, platform, signedIn) }, 200);
      }
      const caller = await requireCaller(c);
      return c.json(await rbac.invitations!.accept(caller.session, body.token, c.get("requestContext")), 200);
    })
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
    })
    .openapi(entitlementsRoute, async (c) => {
      const caller = await requireCaller(c);
      const orgId = c.req.valid("query").orgId ?? null;
      // An organization's plan is its members' business only.
      if (orgId !== null) await orgs.get(caller.user.id, orgId);
      return c.json({ orgId, features: await rbac.entitlements.resolve({ userId: caller.user.id, orgId }) }, 200);
    })
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
