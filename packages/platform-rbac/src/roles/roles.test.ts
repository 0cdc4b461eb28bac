import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { newId, sha256, type DatabaseHandle } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { createTestClock } from "@burrow/platform-core/testing";
import type { Rbac } from "../index.ts";
import { createTestRbac, type TestRbac, refusals } from "../test-rbac.ts";
import { organizationInvitations, organizationMemberships, rolePermissions, roles } from "../schema.ts";

describe("custom roles", () => {
  let handle: DatabaseHandle;
  let rbac: Rbac;
  const clock = createTestClock();
  let counter = 0;

  let t: TestRbac;
  beforeAll(async () => {
    t = await createTestRbac({
      clock,
      permissions: { "projects:write": "Edit projects", "projects:read": "See projects" },
    });
    ({ handle, rbac } = t);
  });
  afterAll(() => handle.close());

  const newUser = () => t.newUser("roles");
  /** An organization with an owner, an admin and a member. */
  const team = async () => {
    const people = {
      owner: await newUser(),
      admin: await newUser(),
      member: await newUser(),
      outsider: await newUser(),
    };
    const org = await rbac.organizations.create(people.owner, { name: `Roles ${++counter}` }, {});
    for (const key of ["admin", "member"] as const) {
      const [role] = await handle.db.select().from(roles).where(eq(roles.key, key));
      await handle.db
        .insert(organizationMemberships)
        .values({ orgId: org.id, userId: people[key], roleId: role!.id, joinedAt: clock.now() });
      await rbac.resolver.changed(handle.db, people[key]);
    }
    return { orgId: org.id, ...people };
  };

  test("a custom role is created with its permissions sorted and deduplicated, and listed after the built-in ones", async () => {
    const { orgId, owner, member } = await team();
    const role = await rbac.roles.create(
      owner,
      orgId,
      { key: "editor", name: "Editor", permissions: ["projects:write", "org:read", "projects:write"] },
      {},
    );
    expect(role).toMatchObject({ key: "editor", builtIn: false, permissions: ["org:read", "projects:write"] });
    const second = await rbac.roles.create(owner, orgId, { key: "reader", name: "Reader", permissions: [] }, {});
    expect(second.permissions).toEqual([]);
    // roles:read is enough to list: built-in organization roles by power, then the organization's own.
    expect((await rbac.roles.list(member, orgId)).map((view) => view.key)).toEqual([
      "owner",
      "admin",
      "member",
      "viewer",
      "editor",
      "reader",
    ]);
  });

  test("nobody grants what they do not hold: an admin may not put org:delete, org:* or * in a role", async () => {
    const { orgId, admin } = await team();
    for (const permissions of [["org:delete"], ["org:*"], ["*"], ["members:read", "projects:write"]])
      await expect(
        rbac.roles.create(admin, orgId, { key: "sneaky", name: "Sneaky", permissions }, {}),
      ).rejects.toMatchObject({ code: "forbidden" });
    // What the admin holds, through its patterns, it may grant.
    const role = await rbac.roles.create(
      admin,
      orgId,
      { key: "helper", name: "Helper", permissions: ["members:*", "org:update", "roles:read"] },
      {},
    );
    expect(role.permissions).toEqual(["members:*", "org:update", "roles:read"]);
    // Nor by changing a role afterwards.
    await expect(
      rbac.roles.update(admin, orgId, role.id, { permissions: ["members:*", "org:delete"] }, {}),
    ).rejects.toMatchObject({ code: "forbidden" });
    expect((await rbac.roles.list(admin, orgId)).find((view) => view.id === role.id)?.permissions).toEqual(
      role.permissions,
    );
  });

  test("permissions outside the catalogue and malformed keys are validation_failed", async () => {
    const { orgId, owner } = await team();
    for (const permissions of [["invented:thing"], ["projects:delete"], ["nothing:*"], ["Org:Read"]])
      await expect(rbac.roles.create(owner, orgId, { key: "odd", name: "Odd", permissions }, {})).rejects.toMatchObject(
        { code: "validation_failed" },
      );
    // A pattern over a known resource is in the catalogue.
    expect(
      (await rbac.roles.create(owner, orgId, { key: "projects", name: "Projects", permissions: ["projects:*"] }, {}))
        .permissions,
    ).toEqual(["projects:*"]);
    for (const key of ["A", "x", "1abc", "has-dash", "with space", "a".repeat(51)])
      await expect(rbac.roles.create(owner, orgId, { key, name: "Bad", permissions: [] }, {})).rejects.toMatchObject({
        code: "validation_failed",
      });
  });

  test("a key taken by a built-in role or by one of this organization's is role_taken; other organizations may reuse it", async () => {
    const first = await team();
    const second = await team();
    await expect(
      rbac.roles.create(first.owner, first.orgId, { key: "admin", name: "Admin 2", permissions: [] }, {}),
    ).rejects.toMatchObject({ code: "role_taken" });
    await rbac.roles.create(first.owner, first.orgId, { key: "auditor", name: "Auditor", permissions: [] }, {});
    await expect(
      rbac.roles.create(first.owner, first.orgId, { key: "auditor", name: "Again", permissions: [] }, {}),
    ).rejects.toMatchObject({ code: "role_taken" });
    expect(
      (await rbac.roles.create(second.owner, second.orgId, { key: "auditor", name: "Theirs", permissions: [] }, {}))
        .key,
    ).toBe("auditor");
  });

  test("managing roles needs roles:manage: a member is forbidden, an outsider gets not_found", async () => {
    const { orgId, member, outsider } = await team();
    const input = { key: "nope", name: "Nope", permissions: [] };
    await expect(rbac.roles.create(member, orgId, input, {})).rejects.toMatchObject({ code: "forbidden" });
    await expect(rbac.roles.create(outsider, orgId, input, {})).rejects.toMatchObject({ code: "not_found" });
    await expect(rbac.roles.list(outsider, orgId)).rejects.toMatchObject({ code: "not_found" });
  });

  test("changing a role's permissions takes effect at once for everyone holding it", async () => {
    const { orgId, owner, member } = await team();
    const role = await rbac.roles.create(
      owner,
      orgId,
      { key: "writer", name: "Writer", permissions: ["org:read"] },
      {},
    );
    await rbac.organizations.changeRole(owner, orgId, member, "writer", {});
    expect(await rbac.can(member, "projects:write", { orgId })).toBe(false);
    await rbac.roles.update(owner, orgId, role.id, { permissions: ["org:read", "projects:write"] }, {});
    expect(await rbac.can(member, "projects:write", { orgId })).toBe(true);
    await rbac.roles.update(owner, orgId, role.id, { name: "Author", permissions: ["org:read"] }, {});
    expect(await rbac.can(member, "projects:write", { orgId })).toBe(false);
    expect((await rbac.roles.list(owner, orgId)).find((view) => view.id === role.id)?.name).toBe("Author");
  });

  test("a role a member holds cannot be removed (role_in_use); once nobody holds it, it can", async () => {
    const { orgId, owner, member } = await team();
    const role = await rbac.roles.create(owner, orgId, { key: "temp", name: "Temp", permissions: ["org:read"] }, {});
    await rbac.organizations.changeRole(owner, orgId, member, "temp", {});
    await expect(rbac.roles.remove(owner, orgId, role.id, {})).rejects.toMatchObject({ code: "role_in_use" });
    await rbac.organizations.changeRole(owner, orgId, member, "member", {});
    await rbac.roles.remove(owner, orgId, role.id, {});
    expect((await rbac.roles.list(owner, orgId)).map((view) => view.key)).not.toContain("temp");
  });

  test("built-in roles and other organizations' roles are not_found to change or remove", async () => {
    const mine = await team();
    const theirs = await team();
    const [ownerRole] = await handle.db.select().from(roles).where(eq(roles.key, "owner"));
    await expect(rbac.roles.update(mine.owner, mine.orgId, ownerRole!.id, { name: "Boss" }, {})).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(rbac.roles.remove(mine.owner, mine.orgId, ownerRole!.id, {})).rejects.toMatchObject({
      code: "not_found",
    });
    const foreign = await rbac.roles.create(
      theirs.owner,
      theirs.orgId,
      { key: "foreign", name: "F", permissions: [] },
      {},
    );
    await expect(rbac.roles.remove(mine.owner, mine.orgId, foreign.id, {})).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(rbac.roles.update(mine.owner, mine.orgId, foreign.id, { permissions: [] }, {})).rejects.toMatchObject({
      code: "not_found",
    });
  });

  test("a role no member holds can be removed even if an invitation once offered it", async () => {
    const { orgId, owner } = await team();
    const role = await rbac.roles.create(owner, orgId, { key: "guest", name: "Guest", permissions: ["org:read"] }, {});
    // An invitation to the role, revoked since: nobody holds the role, nobody can join with it.
    await handle.db.insert(organizationInvitations).values({
      id: newId("invitation"),
      orgId,
      email: "invited@example.com",
      emailNormalized: "invited@example.com",
      roleId: role.id,
      invitedBy: owner,
      tokenHash: sha256(`revoked-${counter}`),
      expiresAt: new Date(clock.now().getTime() + 86_400_000),
      createdAt: clock.now(),
      revokedAt: clock.now(),
    });
    await rbac.roles.remove(owner, orgId, role.id, {});
    expect((await rbac.roles.list(owner, orgId)).map((view) => view.key)).not.toContain("guest");
  });

  test("a role a pending invitation offers is not removed: 409 role_in_use, and nothing changes", async () => {
    const { orgId, owner } = await team();
    const role = await rbac.roles.create(
      owner,
      orgId,
      { key: "pending_guest", name: "Guest", permissions: ["org:read"] },
      {},
    );
    await handle.db.insert(organizationInvitations).values({
      id: newId("invitation"),
      orgId,
      email: "pending@example.com",
      emailNormalized: "pending@example.com",
      roleId: role.id,
      invitedBy: owner,
      tokenHash: sha256(`pending-${counter}`),
      expiresAt: new Date(clock.now().getTime() + 86_400_000),
      createdAt: clock.now(),
    });
    await expect(rbac.roles.remove(owner, orgId, role.id, {})).rejects.toMatchObject({ code: "role_in_use" });
    expect((await rbac.roles.list(owner, orgId)).map((view) => view.key)).toContain("pending_guest");
  });

  describe("under concurrency (parallel transactions on PostgreSQL; one at a time on PGlite)", () => {
    const fulfilled = (outcomes: PromiseSettledResult<unknown>[]) =>
      outcomes.filter((outcome) => outcome.status === "fulfilled").length;

    test("12 creations of one key at once: one role, the others role_taken", async () => {
      const { orgId, owner } = await team();
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, () =>
          rbac.roles.create(owner, orgId, { key: "twin", name: "Twin", permissions: ["org:read"] }, {}),
        ),
      );
      expect(fulfilled(outcomes)).toBe(1);
      expect(refusals(outcomes, ["role_taken"])).toEqual({ role_taken: 11 });
      expect((await rbac.roles.list(owner, orgId)).filter((view) => view.key === "twin").length).toBe(1);
    });

    test("12 identical permission changes at once all succeed, and the role holds them once", async () => {
      const { orgId, owner } = await team();
      const role = await rbac.roles.create(owner, orgId, { key: "same", name: "Same", permissions: [] }, {});
      const permissions = ["org:read", "projects:read", "projects:write"];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, () => rbac.roles.update(owner, orgId, role.id, { permissions }, {})),
      );
      refusals(outcomes, []);
      const held = await handle.db.select().from(rolePermissions).where(eq(rolePermissions.roleId, role.id));
      expect(held.map((row) => row.permission).sort()).toEqual(permissions);
    });

    test("12 removals of one role at once: one succeeds and is audited once, the others not_found", async () => {
      const { orgId, owner } = await team();
      const role = await rbac.roles.create(owner, orgId, { key: "gone", name: "Gone", permissions: [] }, {});
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, () => rbac.roles.remove(owner, orgId, role.id, {})),
      );
      expect(fulfilled(outcomes)).toBe(1);
      expect(refusals(outcomes, ["not_found"])).toEqual({ not_found: 11 });
      const audited = await handle.db
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.action, "role.deleted"), eq(auditLogs.targetId, role.id)));
      expect(audited.length).toBe(1);
    });

    test("removing a role while members are moved onto it: either the removal or the moves win, 10 rounds", async () => {
      for (let round = 0; round < 10; round++) {
        const { orgId, owner, admin, member } = await team();
        const role = await rbac.roles.create(owner, orgId, { key: "mover", name: "Mover", permissions: [] }, {});
        const [removal, ...moves] = await Promise.allSettled([
          rbac.roles.remove(owner, orgId, role.id, {}),
          rbac.organizations.changeRole(owner, orgId, member, "mover", {}),
          rbac.organizations.changeRole(owner, orgId, admin, "mover", {}),
        ]);
        refusals([removal!, ...moves], ["role_in_use", "validation_failed"]);
        const [left] = await handle.db.select().from(roles).where(eq(roles.id, role.id));
        // The role survives exactly when the removal was refused, and then because someone holds it.
        expect(left === undefined).toBe(removal!.status === "fulfilled");
        const holders = await handle.db
          .select()
          .from(organizationMemberships)
          .where(eq(organizationMemberships.roleId, role.id));
        expect(holders.length).toBe(fulfilled(moves));
        if (removal!.status === "rejected") expect(holders.length).toBeGreaterThan(0);
      }
    });
  });
});
