import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { decodeJwt } from "jose";
import { newId } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { organizationMemberships, principalRoles, roles } from "@burrow/platform-rbac/schema";
import { createTestApi, readProblem, signUpUser, type TestApi, type TestUser } from "./helpers.ts";

const ROLES = ["owner", "admin", "member", "viewer", "outsider", "platform_admin"] as const;
type Actor = (typeof ROLES)[number];

describe("organizations over HTTP", () => {
  let api: TestApi;
  const people = {} as Record<Actor | "target", TestUser>;
  beforeAll(async () => {
    api = await createTestApi();
    for (const name of [...ROLES, "target"] as const) people[name] = await signUpUser(api);
    const [platformAdmin] = await api.platform.db.select().from(roles).where(eq(roles.key, "platform_admin"));
    await api.platform.db.insert(principalRoles).values({
      id: newId("role"),
      userId: people.platform_admin.id,
      roleId: platformAdmin!.id,
      createdAt: api.clock.now(),
    });
    await api.platform.rbac.resolver.changed(api.platform.db, "*");
    // Creating the first test database of a process migrates it: seconds on a busy machine.
  }, 60_000);
  afterAll(() => api.close());

  test("custom roles: created within what you hold, assignable, changed for everyone at once, deleted when unused", async () => {
    const orgId = await organization();
    const builtIn = await (await call(people.member, "GET", `/v1/orgs/${orgId}/roles`)).json();
    expect(builtIn.data.map((role: { key: string }) => role.key)).toEqual(["owner", "admin", "member", "viewer"]);
    expect(
      (
        await call(people.member, "POST", `/v1/orgs/${orgId}/roles`, {
          key: "billing",
          name: "Billing",
          permissions: ["org:read"],
        })
      ).status,
    ).toBe(403);
    // An admin holds members:* and roles:* but not org:delete: cannot put it on a role.
    expect(
      (
        await call(people.admin, "POST", `/v1/orgs/${orgId}/roles`, {
          key: "deleter",
          name: "Deleter",
          permissions: ["org:delete"],
        })
      ).status,
    ).toBe(403);
    for (const permissions of [["made:up"], ["nope:*"], ["Org:Read"]])
      expect(
        (await call(people.admin, "POST", `/v1/orgs/${orgId}/roles`, { key: "bad", name: "Bad", permissions })).status,
      ).toBe(400);
    expect(
      (await call(people.admin, "POST", `/v1/orgs/${orgId}/roles`, { key: "admin", name: "Clash", permissions: [] }))
        .status,
    ).toBe(409);
    const created = await call(people.admin, "POST", `/v1/orgs/${orgId}/roles`, {
      key: "recruiter",
      name: "Recruiter",
      permissions: ["org:read", "members:read", "members:invite"],
    });
    expect(created.status).toBe(201);
    const role = await created.json();
    expect(role).toMatchObject({
      key: "recruiter",
      builtIn: false,
      permissions: ["members:invite", "members:read", "org:read"],
    });

    expect(
      (await call(people.admin, "PATCH", `/v1/orgs/${orgId}/members/${people.target.id}`, { role: "recruiter" }))
        .status,
    ).toBe(204);
    expect(
      (
        await call(people.target, "POST", `/v1/orgs/${orgId}/invitations`, {
          email: "via-recruiter@example.com",
          role: "viewer",
        })
      ).status,
    ).toBe(201);
    // Changing the role reaches its holders on their next check.
    expect(
      (await call(people.admin, "PATCH", `/v1/orgs/${orgId}/roles/${role.id}`, { permissions: ["org:read"] })).status,
    ).toBe(200);
    expect(
      (
        await call(people.target, "POST", `/v1/orgs/${orgId}/invitations`, {
          email: "again@example.com",
          role: "viewer",
        })
      ).status,
    ).toBe(403);

    expect((await readProblem(await call(people.admin, "DELETE", `/v1/orgs/${orgId}/roles/${role.id}`))).code).toBe(
      "role_in_use",
    );
    await call(people.admin, "PATCH", `/v1/orgs/${orgId}/members/${people.target.id}`, { role: "viewer" });
    expect((await call(people.admin, "DELETE", `/v1/orgs/${orgId}/roles/${role.id}`)).status).toBe(204);
    // Built-in roles and other organizations' roles are not this organization's to change.
    const ownerRole = builtIn.data.find((entry: { key: string }) => entry.key === "owner");
    expect(
      (await call(people.owner, "PATCH", `/v1/orgs/${orgId}/roles/${ownerRole.id}`, { name: "Boss" })).status,
    ).toBe(404);
    const elsewhere = await organization();
    const foreign = await (
      await call(people.owner, "POST", `/v1/orgs/${elsewhere}/roles`, {
        key: "foreign",
        name: "Foreign",
        permissions: ["org:read"],
      })
    ).json();
    expect((await call(people.owner, "DELETE", `/v1/orgs/${orgId}/roles/${foreign.id}`)).status).toBe(404);
    expect(
      (await call(people.owner, "PATCH", `/v1/orgs/${orgId}/members/${people.target.id}`, { role: "foreign" })).status,
    ).toBe(400);
  });

  test("access tokens carry the role and permissions for the organization they were minted for", async () => {
    const orgId = await organization();
    const minted = await call(people.admin, "POST", "/v1/auth/token", { grantType: "session", orgId });
    expect(minted.status).toBe(200);
    const claims = decodeJwt((await minted.json()).accessToken);
    expect(claims).toMatchObject({
      org_id: orgId,
      org_role: "admin",
      permissions: ["members:*", "org:read", "org:update", "roles:*"],
    });
    // A password grant for the organization; its refreshes keep minting for it.
    const pair = await (
      await api.request("/v1/auth/token", {
        method: "POST",
        json: { grantType: "password", email: people.member.email, password: people.member.password, orgId },
      })
    ).json();
    expect(decodeJwt(pair.accessToken)).toMatchObject({ org_id: orgId, org_role: "member" });
    const refreshed = await (
      await api.request("/v1/auth/token", {
        method: "POST",
        json: { grantType: "refresh_token", refreshToken: pair.refreshToken },
      })
    ).json();
    expect(decodeJwt(refreshed.accessToken)).toMatchObject({ org_id: orgId, org_role: "member" });
    // Not a member: no token for that organization (the same answer whether or not it exists).
    const sameId = { ...people.outsider.bearer, "x-request-id": "fixed-request-id-9" };
    const refused = await api.request("/v1/auth/token", {
      method: "POST",
      headers: sameId,
      json: { grantType: "session", orgId },
    });
    expect(refused.status).toBe(403);
    const missing = await api.request("/v1/auth/token", {
      method: "POST",
      headers: sameId,
      json: { grantType: "session", orgId: "org_01m80w6a2kfrk8cgrdkafx9sz5" },
    });
    expect(await missing.text()).toBe(await refused.text());
    expect((await call(people.owner, "POST", "/v1/auth/token", { grantType: "session", orgId: "nope" })).status).toBe(
      400,
    );
    // A platform administrator may act for any organization.
    expect(
      decodeJwt(
        (await (await call(people.platform_admin, "POST", "/v1/auth/token", { grantType: "session", orgId })).json())
          .accessToken,
      ),
    ).toMatchObject({ org_id: orgId, org_role: null });
  });

  test("GET /v1/entitlements resolves my features, with the organization's for its members only", async () => {
    const orgId = await organization();
    await api.platform.rbac.entitlements.definePlan({
      key: "team",
      name: "Team",
      features: { sso: { kind: "boolean" }, seats: { kind: "limit", limit: 25 } },
    });
    await api.platform.rbac.entitlements.setSubscription(
      { type: "organization", id: orgId },
      { plan: "team", status: "active" },
    );
    const mine = await (await call(people.member, "GET", `/v1/entitlements?orgId=${orgId}`)).json();
    expect(mine).toEqual({ orgId, features: { sso: { enabled: true }, seats: { enabled: true, limit: 25 } } });
    expect(await (await call(people.member, "GET", "/v1/entitlements")).json()).toEqual({ orgId: null, features: {} });
    expect((await call(people.outsider, "GET", `/v1/entitlements?orgId=${orgId}`)).status).toBe(404);
    expect((await call(people.member, "GET", "/v1/entitlements?orgId=nope")).status).toBe(400);
  });

  test("a platform role can be eligible-only: support becomes platform admin for a while", async () => {
    expect(
      (
        await call(people.owner, "POST", "/v1/admin/eligibilities", {
          userId: people.target.id,
          role: "platform_admin",
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await call(people.platform_admin, "POST", "/v1/admin/eligibilities", {
          userId: people.target.id,
          role: "platform_admin",
          approverPermission: "users:manage",
        })
      ).status,
    ).toBe(204);
    expect((await call(people.target, "POST", "/v1/admin/signing-keys/rotate")).status).toBe(403);
    // Holding `*`, even for a while, needs a second factor (the MFA policy for every holder of `*`).
    expect(
      (
        await readProblem(
          await call(people.target, "POST", "/v1/elevations", {
            role: "platform_admin",
            reason: "incident 42",
            minutes: 60,
          }),
        )
      ).code,
    ).toBe("mfa_required_by_policy");
    const enrolment = await (await call(people.target, "POST", "/v1/mfa/totp/enroll", {})).json();
    const code = referenceTotp(enrolment.secret, Math.floor(api.clock.now().getTime() / 1000));
    expect(
      (await call(people.target, "POST", "/v1/mfa/totp/confirm", { factorId: enrolment.factorId, code })).status,
    ).toBe(200);
    const pending = await (
      await call(people.target, "POST", "/v1/elevations", {
        role: "platform_admin",
        reason: "incident 42",
        minutes: 60,
      })
    ).json();
    expect(pending).toMatchObject({ status: "pending", orgId: null });
    expect((await call(people.platform_admin, "POST", `/v1/elevations/${pending.id}/approve`)).status).toBe(200);
    expect(await api.platform.rbac.can(people.target.id, "users:manage")).toBe(true);
    expect((await call(people.target, "DELETE", `/v1/elevations/${pending.id}`)).status).toBe(204);
    expect(await api.platform.rbac.can(people.target.id, "users:manage")).toBe(false);
  });

  test("only a holder of signing_keys:rotate rotates the signing key", async () => {
    const refused = await call(people.owner, "POST", "/v1/admin/signing-keys/rotate");
    expect(refused.status).toBe(403);
    const rotated = await call(people.platform_admin, "POST", "/v1/admin/signing-keys/rotate");
    expect(rotated.status).toBe(200);
    const { kid } = await rotated.json();
    const jwks = await (await api.request("/.well-known/jwks.json")).json();
    expect(jwks.keys.map((key: { kid: string }) => key.kid)).toContain(kid);
  });

  test("API keys carry at most what their creator holds: platform permissions included", async () => {
    expect((await call(people.owner, "POST", "/v1/api-keys", { name: "k", scopes: ["users:read"] })).status).toBe(403);
    expect(
      (await call(people.platform_admin, "POST", "/v1/api-keys", { name: "k", scopes: ["users:read", "profile:read"] }))
        .status,
    ).toBe(201);
  });

  const call = (who: TestUser, method: string, path: string, json?: unknown) =>
    api.request(path, { method, headers: who.bearer, ...(json === undefined ? {} : { json }) });

  /** A fresh organization owned by `owner`, with admin, member and viewer, and `target` as a member. */
  async function organization(): Promise<string> {
    const created = await (await call(people.owner, "POST", "/v1/orgs", { name: "Matrix" })).json();
    const roleId = async (key: string) => (await api.platform.db.select().from(roles).where(eq(roles.key, key)))[0]!.id;
    for (const [who, key] of [
      ["admin", "admin"],
      ["member", "member"],
      ["viewer", "viewer"],
      ["target", "viewer"],
    ] as const) {
      await api.platform.db
        .insert(organizationMemberships)
        .values({ orgId: created.id, userId: people[who].id, roleId: await roleId(key), joinedAt: api.clock.now() });
      await api.platform.rbac.resolver.changed(api.platform.db, people[who].id);
    }
    return created.id;
  }

  test("create, list, read and update my organization", async () => {
    const created = await call(people.owner, "POST", "/v1/orgs", { name: "Acme Rockets" });
    expect(created.status).toBe(201);
    const org = await created.json();
    expect(org).toMatchObject({ name: "Acme Rockets", slug: "acme-rockets" });
    const mine = await (await call(people.owner, "GET", "/v1/orgs")).json();
    expect(mine.data.find((row: { id: string }) => row.id === org.id)?.role).toBe("owner");
    const renamed = await call(people.owner, "PATCH", `/v1/orgs/${org.id}`, { name: "Acme", slug: "acme-hq" });
    expect(await renamed.json()).toMatchObject({ name: "Acme", slug: "acme-hq" });
    const audit = await api.platform.db.select().from(auditLogs).where(eq(auditLogs.orgId, org.id));
    expect(audit.map((entry) => entry.action)).toEqual(
      expect.arrayContaining(["organization.created", "organization.renamed"]),
    );
    const permissions = await (await call(people.owner, "GET", `/v1/me/permissions?orgId=${org.id}`)).json();
    expect(permissions).toMatchObject({ orgId: org.id, role: "owner", permissions: ["*"] });
    const catalogue = await (await call(people.owner, "GET", "/v1/permissions")).json();
    expect(catalogue.data.map((entry: { permission: string }) => entry.permission)).toContain("members:invite");
  });

  test("slugs that are taken, reserved or malformed are refused; fields that do not belong are ignored", async () => {
    await call(people.owner, "POST", "/v1/orgs", { name: "Taken", slug: "taken-slug" });
    expect(
      (await readProblem(await call(people.owner, "POST", "/v1/orgs", { name: "Again", slug: "taken-slug" }))).code,
    ).toBe("slug_taken");
    for (const slug of ["admin", "-x-", "UPPER", "a".repeat(49), "has space"])
      expect((await call(people.owner, "POST", "/v1/orgs", { name: "Bad", slug })).status).toBe(400);
    const mass = await call(people.member, "POST", "/v1/orgs", {
      name: "Mass",
      role: "viewer",
      ownerId: people.outsider.id,
      createdBy: people.outsider.id,
      id: "org_01m80w6a2kfrk8cgrdkafx9sz5",
    });
    expect(mass.status).toBe(201);
    const massOrg = await mass.json();
    expect(massOrg.id).not.toBe("org_01m80w6a2kfrk8cgrdkafx9sz5");
    expect((await (await call(people.member, "GET", `/v1/me/permissions?orgId=${massOrg.id}`)).json()).role).toBe(
      "owner",
    );
    expect((await call(people.outsider, "GET", `/v1/orgs/${massOrg.id}`)).status).toBe(404);
    const orgId = await organization();
    expect(
      (await call(people.admin, "PATCH", `/v1/orgs/${orgId}/members/${people.admin.id}`, { role: "owner" })).status,
    ).toBe(403);
    // An orgId in a body where the path names the organization changes nothing.
    const renamed = await call(people.owner, "PATCH", `/v1/orgs/${orgId}`, {
      name: "Same org",
      orgId: "org_01m80w6a2kfrk8cgrdkafx9sz5",
    });
    expect((await renamed.json()).id).toBe(orgId);
    expect((await readProblem(await call(people.owner, "GET", "/v1/orgs/nope"))).code).toBe("invalid_id");
    expect((await call(people.owner, "GET", "/v1/orgs/org_01m80w6a2kfrk8cgrdkafx9sz5")).status).toBe(404);
  });

  test("the last owner can neither leave, be removed nor be demoted", async () => {
    const orgId = await organization();
    for (const [method, path, json] of [
      ["DELETE", `/v1/orgs/${orgId}/members/${people.owner.id}`, undefined],
      ["PATCH", `/v1/orgs/${orgId}/members/${people.owner.id}`, { role: "admin" }],
    ] as const) {
      const response = await call(people.owner, method, path, json);
      expect(response.status).toBe(409);
      expect((await readProblem(response)).code).toBe("last_owner");
    }
  });

  test("only an owner changes an owner's membership: an admin can neither demote nor remove one", async () => {
    const orgId = await organization();
    const [ownerRole] = await api.platform.db.select().from(roles).where(eq(roles.key, "owner"));
    await api.platform.db
      .update(organizationMemberships)
      .set({ roleId: ownerRole!.id })
      .where(eq(organizationMemberships.userId, people.target.id));
    await api.platform.rbac.resolver.changed(api.platform.db, people.target.id);
    const roleOf = async (userId: string) =>
      (await (await call(people.owner, "GET", `/v1/orgs/${orgId}/members`)).json()).data.find(
        (row: { userId: string }) => row.userId === userId,
      )?.role;
    // The reported two-step: demote the owner, then remove them.
    for (const role of ["admin", "viewer"]) {
      const demoted = await call(people.admin, "PATCH", `/v1/orgs/${orgId}/members/${people.target.id}`, { role });
      expect(demoted.status).toBe(403);
      expect((await readProblem(demoted)).code).toBe("forbidden");
    }
    expect((await call(people.admin, "DELETE", `/v1/orgs/${orgId}/members/${people.target.id}`)).status).toBe(403);
    // A platform administrator is not an owner of the organization either.
    expect(
      (await call(people.platform_admin, "PATCH", `/v1/orgs/${orgId}/members/${people.target.id}`, { role: "viewer" }))
        .status,
    ).toBe(403);
    expect(await roleOf(people.target.id)).toBe("owner");
    // An owner may: another owner, or themselves while another owner remains.
    expect(
      (await call(people.owner, "PATCH", `/v1/orgs/${orgId}/members/${people.target.id}`, { role: "admin" })).status,
    ).toBe(204);
    expect(await roleOf(people.target.id)).toBe("admin");
  });

  // Which actors may do each thing; everyone else is refused — 404 for outsiders (who may not learn the
  // organization exists), 403 for members who lack the permission.
  const MATRIX: { name: string; allowed: Actor[]; run: (who: TestUser, orgId: string) => Promise<Response> }[] = [
    {
      name: "GET /v1/orgs/{id}",
      allowed: ["owner", "admin", "member", "viewer", "platform_admin"],
      run: (who, orgId) => call(who, "GET", `/v1/orgs/${orgId}`),
    },
    {
      name: "PATCH /v1/orgs/{id}",
      allowed: ["owner", "admin", "platform_admin"],
      run: (who, orgId) => call(who, "PATCH", `/v1/orgs/${orgId}`, { name: "Changed" }),
    },
    {
      name: "DELETE /v1/orgs/{id}",
      allowed: ["owner", "platform_admin"],
      run: (who, orgId) => call(who, "DELETE", `/v1/orgs/${orgId}`),
    },
    {
      name: "GET /v1/orgs/{id}/members",
      allowed: ["owner", "admin", "member", "platform_admin"],
      run: (who, orgId) => call(who, "GET", `/v1/orgs/${orgId}/members`),
    },
    {
      name: "PATCH /v1/orgs/{id}/members/{userId}",
      allowed: ["owner", "admin", "platform_admin"],
      run: (who, orgId) => call(who, "PATCH", `/v1/orgs/${orgId}/members/${people.target.id}`, { role: "member" }),
    },
    {
      name: "DELETE /v1/orgs/{id}/members/{userId}",
      allowed: ["owner", "admin", "platform_admin"],
      run: (who, orgId) => call(who, "DELETE", `/v1/orgs/${orgId}/members/${people.target.id}`),
    },
    {
      name: "POST /v1/orgs/{id}/transfer-ownership",
      allowed: ["owner"],
      run: (who, orgId) => call(who, "POST", `/v1/orgs/${orgId}/transfer-ownership`, { userId: people.target.id }),
    },
  ];

  for (const row of MATRIX) {
    test(`role matrix: ${row.name}`, async () => {
      const outcome: Record<string, number> = {};
      for (const actor of ROLES) {
        const orgId = await organization();
        outcome[actor] = (await row.run(people[actor], orgId)).status;
      }
      const allowed = ROLES.filter((actor) => outcome[actor]! < 300);
      expect(allowed).toEqual(row.allowed);
      for (const actor of ROLES) {
        if (row.allowed.includes(actor)) continue;
        expect(outcome[actor]).toBe(actor === "outsider" ? 404 : 403);
      }
      // Every 403 here was audited with the permission asked for.
      const denied = await api.platform.db.select().from(auditLogs).where(eq(auditLogs.action, "permission.denied"));
      expect(denied.length).toBeGreaterThan(0);
    });
  }
});

describe("just-in-time elevation", () => {
  let api: TestApi;
  const people = {} as Record<"owner" | "admin" | "member" | "viewer", TestUser>;
  beforeAll(async () => {
    api = await createTestApi();
    for (const name of ["owner", "admin", "member", "viewer"] as const) people[name] = await signUpUser(api);
  });
  afterAll(() => api.close());

  const call = (who: TestUser, method: string, path: string, json?: unknown) =>
    api.request(path, { method, headers: who.bearer, ...(json === undefined ? {} : { json }) });
  async function organization(): Promise<string> {
    const created = await (await call(people.owner, "POST", "/v1/orgs", { name: "Elevate" })).json();
    for (const [who, key] of [
      ["admin", "admin"],
      ["member", "member"],
      ["viewer", "viewer"],
    ] as const) {
      const [role] = await api.platform.db.select().from(roles).where(eq(roles.key, key));
      await api.platform.db
        .insert(organizationMemberships)
        .values({ orgId: created.id, userId: people[who].id, roleId: role!.id, joinedAt: api.clock.now() });
      await api.platform.rbac.resolver.changed(api.platform.db, people[who].id);
    }
    return created.id;
  }

  test("just-in-time elevation: eligible roles held for a while, ending by themselves or early, with approval when configured", async () => {
    const orgId = await organization();
    // The viewer may become admin for a while.
    expect(
      (
        await call(people.member, "POST", `/v1/orgs/${orgId}/eligibilities`, {
          userId: people.viewer.id,
          role: "admin",
        })
      ).status,
    ).toBe(403);
    expect(
      (await call(people.owner, "POST", `/v1/orgs/${orgId}/eligibilities`, { userId: people.viewer.id, role: "admin" }))
        .status,
    ).toBe(204);
    expect((await call(people.viewer, "PATCH", `/v1/orgs/${orgId}`, { name: "Before" })).status).toBe(403);
    const notEligible = await call(people.viewer, "POST", "/v1/elevations", {
      orgId,
      role: "owner",
      reason: "need everything",
    });
    expect(notEligible.status).toBe(403);
    expect(
      (await call(people.viewer, "POST", "/v1/elevations", { orgId, role: "admin", reason: "too long", minutes: 241 }))
        .status,
    ).toBe(400);
    const started = await call(people.viewer, "POST", "/v1/elevations", {
      orgId,
      role: "admin",
      reason: "rename for the launch",
      minutes: 30,
    });
    expect(started.status).toBe(201);
    const elevation = await started.json();
    expect(elevation.status).toBe("active");
    expect((await call(people.viewer, "PATCH", `/v1/orgs/${orgId}`, { name: "During" })).status).toBe(200);
    // It ends by itself: resolution checks the time, no job needed.
    api.clock.advance(30 * 60_000);
    expect((await call(people.viewer, "PATCH", `/v1/orgs/${orgId}`, { name: "After" })).status).toBe(403);

    const again = await (
      await call(people.viewer, "POST", "/v1/elevations", { orgId, role: "admin", reason: "one more change" })
    ).json();
    expect((await call(people.viewer, "PATCH", `/v1/orgs/${orgId}`, { name: "Again" })).status).toBe(200);
    expect((await call(people.viewer, "DELETE", `/v1/elevations/${again.id}`)).status).toBe(204);
    expect((await call(people.viewer, "PATCH", `/v1/orgs/${orgId}`, { name: "Ended" })).status).toBe(403);
    expect((await call(people.member, "DELETE", `/v1/elevations/${again.id}`)).status).toBe(404);
    const mine = await (await call(people.viewer, "GET", "/v1/elevations")).json();
    expect(mine.data.map((row: { status: string }) => row.status)).toEqual(["ended", "active"]);

    // With approval: pending until another holder of the permission approves; nobody approves their own.
    await call(people.owner, "POST", `/v1/orgs/${orgId}/eligibilities`, {
      userId: people.member.id,
      role: "admin",
      approverPermission: "members:update",
    });
    const pending = await (
      await call(people.member, "POST", "/v1/elevations", { orgId, role: "admin", reason: "audit the members" })
    ).json();
    expect(pending.status).toBe("pending");
    expect((await call(people.member, "PATCH", `/v1/orgs/${orgId}`, { name: "Not yet" })).status).toBe(403);
    expect((await call(people.member, "POST", `/v1/elevations/${pending.id}/approve`)).status).toBe(403);
    expect((await call(people.viewer, "POST", `/v1/elevations/${pending.id}/approve`)).status).toBe(403);
    const approved = await call(people.admin, "POST", `/v1/elevations/${pending.id}/approve`);
    expect(approved.status).toBe(200);
    expect((await approved.json()).status).toBe("active");
    expect((await call(people.member, "PATCH", `/v1/orgs/${orgId}`, { name: "Approved" })).status).toBe(200);
    const actions = (await api.platform.db.select().from(auditLogs).where(eq(auditLogs.orgId, orgId))).map(
      (entry) => entry.action,
    );
    expect(actions).toEqual(
      expect.arrayContaining(["elevation.requested", "elevation.started", "elevation.ended", "elevation.approved"]),
    );
  });
});
