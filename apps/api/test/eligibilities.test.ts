import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { newId } from "@burrow/platform-core";
import { heldOpen, untilWaiting } from "@burrow/platform-core/testing";
import { mfaFactors, users } from "@burrow/platform-auth/schema";
import { referenceTotp } from "@burrow/platform-auth/testing";
import {
  elevations,
  organizationMemberships,
  principalRoles,
  roleEligibilities,
  rolePermissions,
  roles,
} from "@burrow/platform-rbac/schema";
import { createTestApi, readProblem, signUpUser, type TestApi, type TestUser } from "./helpers.ts";

type Person =
  | "owner"
  | "coOwner"
  | "admin"
  | "member"
  | "viewer"
  | "outsider"
  | "platformAdmin"
  | "userManager"
  | "target";

describe("eligibilities: granted within what the granter holds, ended with membership, listed and revoked", () => {
  let api: TestApi;
  const people = {} as Record<Person, TestUser & { factorId?: string }>;

  beforeAll(async () => {
    api = await createTestApi();
    for (const name of [
      "owner",
      "coOwner",
      "admin",
      "member",
      "viewer",
      "outsider",
      "platformAdmin",
      "userManager",
      "target",
    ] as const)
      people[name] = await signUpUser(api);
    // A second factor for those who will hold `*` (enrolment needs a recent sign-in: done now).
    for (const name of ["owner", "coOwner", "member", "platformAdmin", "target"] as const) {
      const enrolment = await (await call(people[name], "POST", "/v1/mfa/totp/enroll", {})).json();
      const code = referenceTotp(enrolment.secret, Math.floor(api.clock.now().getTime() / 1000));
      expect(
        (await call(people[name], "POST", "/v1/mfa/totp/confirm", { factorId: enrolment.factorId, code })).status,
      ).toBe(200);
      people[name].factorId = enrolment.factorId;
    }
    const { db } = api.platform;
    const [platformAdmin] = await db.select().from(roles).where(eq(roles.key, "platform_admin"));
    await db.insert(principalRoles).values({
      id: newId("role"),
      userId: people.platformAdmin.id,
      roleId: platformAdmin!.id,
      createdAt: api.clock.now(),
    });
    // A platform role that can manage users and nothing else.
    const userManagerRole = newId("role");
    await db.insert(roles).values({
      id: userManagerRole,
      key: "user_manager",
      name: "User manager",
      scope: "platform",
      builtIn: false,
      createdAt: api.clock.now(),
    });
    await db.insert(rolePermissions).values({ roleId: userManagerRole, permission: "users:manage" });
    await db.insert(principalRoles).values({
      id: newId("role"),
      userId: people.userManager.id,
      roleId: userManagerRole,
      createdAt: api.clock.now(),
    });
    await api.platform.rbac.resolver.changed(db, "*");
  }, 60_000);
  afterAll(() => api.close());

  const call = (who: TestUser, method: string, path: string, json?: unknown) =>
    api.request(path, { method, headers: who.bearer, ...(json === undefined ? {} : { json }) });
  const permissionsIn = async (who: TestUser, orgId: string): Promise<string[]> =>
    (await (await call(who, "GET", `/v1/me/permissions?orgId=${orgId}`)).json()).permissions;
  const eligibilityRows = (orgId: string) =>
    api.platform.db.select().from(roleEligibilities).where(eq(roleEligibilities.orgId, orgId));

  /** An organization of `owner` and `coOwner` (owners), admin, member, viewer. */
  async function organization(): Promise<string> {
    const created = await (await call(people.owner, "POST", "/v1/orgs", { name: "Eligible" })).json();
    for (const [who, key] of [
      ["coOwner", "owner"],
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

  test("an admin can make nobody (themselves included) eligible for a role beyond their own, and nobody makes themselves eligible", async () => {
    const orgId = await organization();
    const path = `/v1/orgs/${orgId}/eligibilities`;
    // The reported escalation: an admin making themselves eligible for owner.
    for (const approverPermission of [undefined, "org:transfer"]) {
      const refused = await call(people.admin, "POST", path, {
        userId: people.admin.id,
        role: "owner",
        ...(approverPermission ? { approverPermission } : {}),
      });
      expect(refused.status).toBe(403);
      expect((await readProblem(refused)).code).toBe("forbidden");
    }
    // Not for someone else either: the granter must hold every permission of the role.
    expect(
      (
        await call(people.admin, "POST", path, {
          userId: people.viewer.id,
          role: "owner",
          approverPermission: "org:transfer",
        })
      ).status,
    ).toBe(403);
    // Not even a role they do hold, for themselves.
    expect((await call(people.admin, "POST", path, { userId: people.admin.id, role: "admin" })).status).toBe(403);
    expect(
      (
        await call(people.owner, "POST", path, {
          userId: people.owner.id,
          role: "owner",
          approverPermission: "org:transfer",
        })
      ).status,
    ).toBe(403);
    // Only members can be made eligible (an outsider is not found here).
    expect(
      (await readProblem(await call(people.owner, "POST", path, { userId: people.outsider.id, role: "admin" }))).code,
    ).toBe("not_found");
    expect(
      (await call(people.owner, "POST", path, { userId: "usr_01m80w6a2kfrk8cgrdkafx9sz5", role: "admin" })).status,
    ).toBe(404);
    // A role holding `*` always needs an approver; the approver permission must be a permission.
    const noApprover = await readProblem(
      await call(people.owner, "POST", path, { userId: people.member.id, role: "owner" }),
    );
    expect(noApprover.code).toBe("validation_failed");
    expect(noApprover.errors?.[0]?.path).toBe("approverPermission");
    for (const approverPermission of ["Not A Permission", "org", "*:*", ""]) {
      expect(
        (
          await readProblem(
            await call(people.owner, "POST", path, { userId: people.member.id, role: "admin", approverPermission }),
          )
        ).code,
      ).toBe("validation_failed");
    }
    expect(await eligibilityRows(orgId)).toEqual([]);
    // Within what the granter holds: allowed.
    expect((await call(people.admin, "POST", path, { userId: people.viewer.id, role: "admin" })).status).toBe(204);
    expect(
      (
        await call(people.owner, "POST", path, {
          userId: people.member.id,
          role: "owner",
          approverPermission: "org:transfer",
        })
      ).status,
    ).toBe(204);
    expect((await eligibilityRows(orgId)).length).toBe(2);
    expect(await permissionsIn(people.admin, orgId)).not.toContain("*");
  });

  test("an approver must hold the approver permission and every permission of the role, and is never the requester", async () => {
    const orgId = await organization();
    // Anyone holding members:read would do as an approver by the permission alone.
    expect(
      (
        await call(people.owner, "POST", `/v1/orgs/${orgId}/eligibilities`, {
          userId: people.viewer.id,
          role: "admin",
          approverPermission: "members:read",
        })
      ).status,
    ).toBe(204);
    const pending = await (
      await call(people.viewer, "POST", "/v1/elevations", { orgId, role: "admin", reason: "tidy the roles" })
    ).json();
    expect(pending.status).toBe("pending");
    // The member holds members:read but not the admin role's permissions: cannot grant it by approving.
    const refused = await call(people.member, "POST", `/v1/elevations/${pending.id}/approve`);
    expect(refused.status).toBe(403);
    expect(await permissionsIn(people.viewer, orgId)).toEqual(["org:read"]);
    expect((await call(people.admin, "POST", `/v1/elevations/${pending.id}/approve`)).status).toBe(200);
    expect(await permissionsIn(people.viewer, orgId)).toContain("members:*");

    // Elevation to owner: an admin holds neither org:transfer nor `*`; another owner approves.
    await call(people.owner, "POST", `/v1/orgs/${orgId}/eligibilities`, {
      userId: people.member.id,
      role: "owner",
      approverPermission: "org:transfer",
    });
    const toOwner = await (
      await call(people.member, "POST", "/v1/elevations", { orgId, role: "owner", reason: "incident 7" })
    ).json();
    expect(toOwner.status).toBe("pending");
    expect((await call(people.admin, "POST", `/v1/elevations/${toOwner.id}/approve`)).status).toBe(403);
    expect((await call(people.member, "POST", `/v1/elevations/${toOwner.id}/approve`)).status).toBe(403);
    expect((await call(people.coOwner, "POST", `/v1/elevations/${toOwner.id}/approve`)).status).toBe(200);
    expect(await permissionsIn(people.member, orgId)).toContain("*");
  });

  test("an eligibility for a role holding * granted before these rules, without an approver, does not start by itself", async () => {
    const orgId = await organization();
    const [owner] = await api.platform.db.select().from(roles).where(eq(roles.key, "owner"));
    await api.platform.db.insert(roleEligibilities).values({
      id: newId("elevation"),
      userId: people.member.id,
      roleId: owner!.id,
      orgId,
      approverPermission: null,
      createdBy: people.owner.id,
      createdAt: api.clock.now(),
    });
    const refused = await call(people.member, "POST", "/v1/elevations", { orgId, role: "owner", reason: "old grant" });
    expect(refused.status).toBe(403);
    expect(await permissionsIn(people.member, orgId)).not.toContain("*");
  });

  test("elevation into a role holding * needs a second factor, when requested and when it starts", async () => {
    const orgId = await organization();
    // The viewer has no second factor.
    expect(
      (
        await call(people.owner, "POST", `/v1/orgs/${orgId}/eligibilities`, {
          userId: people.viewer.id,
          role: "owner",
          approverPermission: "org:transfer",
        })
      ).status,
    ).toBe(204);
    const refused = await call(people.viewer, "POST", "/v1/elevations", { orgId, role: "owner", reason: "incident 8" });
    expect(refused.status).toBe(403);
    expect((await readProblem(refused)).code).toBe("mfa_required_by_policy");
    // The member has one when asking, and none left when the approval comes.
    await call(people.owner, "POST", `/v1/orgs/${orgId}/eligibilities`, {
      userId: people.member.id,
      role: "owner",
      approverPermission: "org:transfer",
    });
    const pending = await (
      await call(people.member, "POST", "/v1/elevations", { orgId, role: "owner", reason: "incident 9" })
    ).json();
    expect(pending.status).toBe("pending");
    const factors = await api.platform.db.select().from(mfaFactors).where(eq(mfaFactors.userId, people.member.id));
    await api.platform.db.delete(mfaFactors).where(eq(mfaFactors.userId, people.member.id));
    try {
      const late = await call(people.coOwner, "POST", `/v1/elevations/${pending.id}/approve`);
      expect(late.status).toBe(403);
      expect((await readProblem(late)).code).toBe("mfa_required_by_policy");
      expect(await permissionsIn(people.member, orgId)).not.toContain("*");
    } finally {
      await api.platform.db.insert(mfaFactors).values(factors);
    }
  });

  test("at platform scope, users:manage makes nobody eligible for platform_admin, themselves least of all", async () => {
    for (const [userId, role] of [
      [people.userManager.id, "platform_admin"],
      [people.target.id, "platform_admin"],
      [people.target.id, "support"],
    ] as const) {
      const refused = await call(people.userManager, "POST", "/v1/admin/eligibilities", {
        userId,
        role,
        approverPermission: "users:manage",
      });
      expect(refused.status).toBe(403);
    }
    expect(
      (
        await call(people.platformAdmin, "POST", "/v1/admin/eligibilities", {
          userId: people.platformAdmin.id,
          role: "support",
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await readProblem(
          await call(people.platformAdmin, "POST", "/v1/admin/eligibilities", {
            userId: people.target.id,
            role: "platform_admin",
          }),
        )
      ).code,
    ).toBe("validation_failed");
    expect(
      (
        await call(people.platformAdmin, "POST", "/v1/admin/eligibilities", {
          userId: "usr_01m80w6a2kfrk8cgrdkafx9sz5",
          role: "support",
        })
      ).status,
    ).toBe(404);
    expect(
      await api.platform.db.select().from(roleEligibilities).where(eq(roleEligibilities.userId, people.userManager.id)),
    ).toEqual([]);
    // The platform approver must hold `*` too.
    expect(
      (
        await call(people.platformAdmin, "POST", "/v1/admin/eligibilities", {
          userId: people.target.id,
          role: "platform_admin",
          approverPermission: "users:manage",
        })
      ).status,
    ).toBe(204);
    const pending = await (
      await call(people.target, "POST", "/v1/elevations", { role: "platform_admin", reason: "incident 10" })
    ).json();
    expect((await call(people.userManager, "POST", `/v1/elevations/${pending.id}/approve`)).status).toBe(403);
    expect(await api.platform.rbac.can(people.target.id, "users:manage")).toBe(false);
    expect((await call(people.platformAdmin, "POST", `/v1/elevations/${pending.id}/approve`)).status).toBe(200);
    expect(await api.platform.rbac.can(people.target.id, "users:manage")).toBe(true);
    await call(people.target, "DELETE", `/v1/elevations/${pending.id}`);
  });

  test("granting an eligibility again updates its approver", async () => {
    const orgId = await organization();
    const path = `/v1/orgs/${orgId}/eligibilities`;
    expect((await call(people.owner, "POST", path, { userId: people.viewer.id, role: "admin" })).status).toBe(204);
    expect(
      (
        await call(people.owner, "POST", path, {
          userId: people.viewer.id,
          role: "admin",
          approverPermission: "members:update",
        })
      ).status,
    ).toBe(204);
    const elevation = await (
      await call(people.viewer, "POST", "/v1/elevations", { orgId, role: "admin", reason: "needs approval now" })
    ).json();
    expect(elevation.status).toBe("pending");
    expect((await eligibilityRows(orgId)).map((row) => row.approverPermission)).toEqual(["members:update"]);
  });

  test("removing a member, or their leaving, ends their eligibilities and elevations: an org elevation gives a non-member nothing", async () => {
    for (const how of ["removed", "left"] as const) {
      const orgId = await organization();
      await call(people.owner, "POST", `/v1/orgs/${orgId}/eligibilities`, { userId: people.viewer.id, role: "admin" });
      const elevation = await (
        await call(people.viewer, "POST", "/v1/elevations", { orgId, role: "admin", reason: "before leaving" })
      ).json();
      expect(elevation.status).toBe("active");
      const gone =
        how === "removed"
          ? await call(people.owner, "DELETE", `/v1/orgs/${orgId}/members/${people.viewer.id}`)
          : await call(people.viewer, "DELETE", `/v1/orgs/${orgId}/members/${people.viewer.id}`);
      expect(gone.status).toBe(204);
      expect((await call(people.viewer, "GET", `/v1/orgs/${orgId}`)).status).toBe(404);
      expect(await permissionsIn(people.viewer, orgId)).toEqual([]);
      expect(
        (await call(people.viewer, "POST", "/v1/elevations", { orgId, role: "admin", reason: "once more" })).status,
      ).toBe(403);
      expect(await eligibilityRows(orgId)).toEqual([]);
      const [row] = await api.platform.db.select().from(elevations).where(eq(elevations.id, elevation.id));
      expect(row!.status).toBe("ended");
    }
  });

  test("deleting an organization, suspending or deleting a user ends their eligibilities and elevations", async () => {
    const orgId = await organization();
    await call(people.owner, "POST", `/v1/orgs/${orgId}/eligibilities`, { userId: people.viewer.id, role: "admin" });
    await call(people.viewer, "POST", "/v1/elevations", { orgId, role: "admin", reason: "before deletion" });
    expect((await call(people.owner, "DELETE", `/v1/orgs/${orgId}`)).status).toBe(204);
    expect(await eligibilityRows(orgId)).toEqual([]);
    expect(
      (
        await api.platform.db
          .select()
          .from(elevations)
          .where(and(eq(elevations.orgId, orgId), eq(elevations.status, "active")))
      ).length,
    ).toBe(0);

    for (const how of ["suspended", "deleted"] as const) {
      const person = await signUpUser(api);
      const other = await organization();
      const [viewerRole] = await api.platform.db.select().from(roles).where(eq(roles.key, "viewer"));
      await api.platform.db
        .insert(organizationMemberships)
        .values({ orgId: other, userId: person.id, roleId: viewerRole!.id, joinedAt: api.clock.now() });
      await api.platform.rbac.resolver.changed(api.platform.db, person.id);
      await call(people.owner, "POST", `/v1/orgs/${other}/eligibilities`, { userId: person.id, role: "admin" });
      const elevation = await (
        await call(person, "POST", "/v1/elevations", { orgId: other, role: "admin", reason: "before going" })
      ).json();
      expect(elevation.status).toBe("active");
      expect(await api.platform.rbac.can(person.id, "members:update", { orgId: other })).toBe(true);
      if (how === "deleted") expect((await call(person, "DELETE", "/v1/me")).status).toBe(204);
      else
        await api.platform.db.transaction((tx) =>
          api.platform.auth.users.suspend(tx, person.id as never, "system", {}),
        );
      expect(
        await api.platform.db.select().from(roleEligibilities).where(eq(roleEligibilities.userId, person.id)),
      ).toEqual([]);
      const [row] = await api.platform.db.select().from(elevations).where(eq(elevations.id, elevation.id));
      expect(row!.status).toBe("ended");
      expect(await api.platform.rbac.can(person.id, "members:update", { orgId: other })).toBe(false);
    }
  });

  test("GET and DELETE /v1/orgs/{orgId}/eligibilities: listed, revoked (ending the elevation), bad input refused", async () => {
    const orgId = await organization();
    const path = `/v1/orgs/${orgId}/eligibilities`;
    await call(people.owner, "POST", path, { userId: people.viewer.id, role: "admin" });
    const listed = await call(people.admin, "GET", path);
    expect(listed.status).toBe(200);
    const { data } = await listed.json();
    expect(data).toEqual([
      {
        id: expect.stringMatching(/^elv_/),
        userId: people.viewer.id,
        role: "admin",
        orgId,
        approverPermission: null,
        createdBy: people.owner.id,
        createdAt: expect.any(String),
      },
    ]);
    const eligibilityId = data[0].id;

    const elsewhere = await organization();
    for (const [who, method, target, status, code] of [
      [people.owner, "GET", `/v1/orgs/nope/eligibilities`, 400, "invalid_id"],
      [people.owner, "DELETE", `${path}/nope`, 400, "invalid_id"],
      [people.owner, "DELETE", `${path}/usr_01m80w6a2kfrk8cgrdkafx9sz5`, 400, "invalid_id"],
      [people.owner, "DELETE", `${path}/elv_01m80w6a2kfrk8cgrdkafx9sz5`, 404, "not_found"],
      [people.owner, "GET", `/v1/orgs/org_01m80w6a2kfrk8cgrdkafx9sz5/eligibilities`, 404, "not_found"],
      [people.outsider, "GET", path, 404, "not_found"],
      [people.outsider, "DELETE", `${path}/${eligibilityId}`, 404, "not_found"],
      [people.viewer, "GET", path, 403, "forbidden"],
      [people.member, "DELETE", `${path}/${eligibilityId}`, 403, "forbidden"],
      // Another organization's path does not reach this one's eligibility.
      [people.owner, "DELETE", `/v1/orgs/${elsewhere}/eligibilities/${eligibilityId}`, 404, "not_found"],
    ] as const) {
      const response = await call(who, method, target);
      expect(response.status).toBe(status);
      expect((await readProblem(response)).code).toBe(code);
    }
    expect((await eligibilityRows(orgId)).length).toBe(1);
    const elevation = await (
      await call(people.viewer, "POST", "/v1/elevations", { orgId, role: "admin", reason: "before revocation" })
    ).json();
    expect(elevation.status).toBe("active");
    expect(await permissionsIn(people.viewer, orgId)).toContain("members:*");

    expect((await call(people.admin, "DELETE", `${path}/${eligibilityId}`)).status).toBe(204);
    expect(await permissionsIn(people.viewer, orgId)).toEqual(["org:read"]);
    expect((await (await call(people.admin, "GET", path)).json()).data).toEqual([]);
    expect(
      (await call(people.viewer, "POST", "/v1/elevations", { orgId, role: "admin", reason: "after revocation" }))
        .status,
    ).toBe(403);
    expect((await call(people.admin, "DELETE", `${path}/${eligibilityId}`)).status).toBe(404);
  });

  test("GET and DELETE /v1/admin/eligibilities: platform eligibilities listed and revoked by platform permission", async () => {
    expect(
      (
        await call(people.platformAdmin, "POST", "/v1/admin/eligibilities", {
          userId: people.target.id,
          role: "support",
        })
      ).status,
    ).toBe(204);
    const listed = await call(people.platformAdmin, "GET", "/v1/admin/eligibilities");
    expect(listed.status).toBe(200);
    const mine = (await listed.json()).data.filter(
      (row: { userId: string; role: string }) => row.userId === people.target.id && row.role === "support",
    );
    expect(mine).toEqual([expect.objectContaining({ orgId: null, approverPermission: null })]);
    const elevation = await (
      await call(people.target, "POST", "/v1/elevations", { role: "support", reason: "help a customer" })
    ).json();
    expect(elevation.status).toBe("active");
    expect(await api.platform.rbac.can(people.target.id, "audit:read")).toBe(true);
    for (const [who, method, target, status, code] of [
      [people.owner, "GET", "/v1/admin/eligibilities", 403, "forbidden"],
      [people.owner, "DELETE", `/v1/admin/eligibilities/${mine[0].id}`, 403, "forbidden"],
      [people.platformAdmin, "DELETE", "/v1/admin/eligibilities/nope", 400, "invalid_id"],
      [people.platformAdmin, "DELETE", "/v1/admin/eligibilities/elv_01m80w6a2kfrk8cgrdkafx9sz5", 404, "not_found"],
    ] as const) {
      const response = await call(who, method, target);
      expect(response.status).toBe(status);
      expect((await readProblem(response)).code).toBe(code);
    }
    expect(await api.platform.rbac.can(people.target.id, "audit:read")).toBe(true);
    expect((await call(people.platformAdmin, "DELETE", `/v1/admin/eligibilities/${mine[0].id}`)).status).toBe(204);
    expect(await api.platform.rbac.can(people.target.id, "audit:read")).toBe(false);
  });

  test.skipIf(process.env.DATABASE_URL === undefined)(
    "a platform elevation requested while its eligibility is revoked: never active without it (PostgreSQL)",
    async () => {
      const requester = await signUpUser(api);
      const granted = await call(people.platformAdmin, "POST", "/v1/admin/eligibilities", {
        userId: requester.id,
        role: "support",
      });
      expect(granted.status).toBe(204);
      const [eligibility] = await api.platform.db
        .select()
        .from(roleEligibilities)
        .where(eq(roleEligibilities.userId, requester.id));
      // The requester's account row held, so that both are under way when it is let go.
      const held = await heldOpen(api.platform.db, async (tx) => {
        await tx.select({ id: users.id }).from(users).where(eq(users.id, requester.id)).for("update");
      });
      const both = [
        call(requester, "POST", "/v1/elevations", { role: "support", reason: "help a customer" }),
        call(people.platformAdmin, "DELETE", `/v1/admin/eligibilities/${eligibility!.id}`),
      ] as const;
      // Both wait on the account: before, the revocation took no lock at platform scope, ended the
      // elevations it found (none yet) and committed, and the request then started one on the
      // eligibility it had read: an active elevation with nothing behind it.
      expect(await untilWaiting(api.platform.db, both)).toBe(2);
      const [requested, revoked] = await held.settle(both);
      expect(revoked.status).toBe(204);
      expect(requested.status).toBeLessThan(500);
      const active = await api.platform.db
        .select()
        .from(elevations)
        .where(and(eq(elevations.userId, requester.id), eq(elevations.status, "active")));
      expect(active).toEqual([]);
      expect(await api.platform.rbac.can(requester.id, "audit:read")).toBe(false);
    },
  );
});
