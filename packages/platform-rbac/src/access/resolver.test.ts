import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { newId, type DatabaseHandle } from "@burrow/platform-core";
import { createTestClock } from "@burrow/platform-core/testing";
import type { Rbac } from "../index.ts";
import { createTestRbac, type TestRbac } from "../test-rbac.ts";
import { elevations, organizationMemberships, organizations, principalRoles } from "../schema.ts";

const HOUR = 3_600_000;

describe("permission resolver", () => {
  let handle: DatabaseHandle;
  let rbac: Rbac;
  const clock = createTestClock();
  let t: TestRbac;
  beforeAll(async () => {
    t = await createTestRbac({ clock });
    ({ handle, rbac } = t);
  });
  afterAll(() => handle.close());

  const newUser = () => t.newUser("resolver");
  const roleId = (key: string) => t.roleId(key);
  /** Writes a membership behind the resolver's back (no `changed`). */
  const addMember = async (orgId: string, userId: string, role: string) =>
    handle.db
      .insert(organizationMemberships)
      .values({ orgId, userId, roleId: await roleId(role), joinedAt: clock.now() });
  const grantPlatformRole = async (userId: string, role: string) =>
    handle.db
      .insert(principalRoles)
      .values({ id: newId("role"), userId, roleId: await roleId(role), createdAt: clock.now() });
  const patterns = async (userId: string, orgId?: string | null) =>
    [...(await rbac.resolver.resolve(userId, orgId)).patterns].sort();

  test("while the node does not hear the channel every resolution reads the database; back, the cache starts empty", async () => {
    const user = await newUser();
    expect(await patterns(user)).toEqual([]);
    // Written behind the resolver's back: a cached answer does not see it.
    await grantPlatformRole(user, "support");
    expect(await patterns(user)).toEqual([]);
    rbac.resolver.connectionChanged(false);
    const support = ["audit:read", "members:read", "org:read", "users:read"];
    expect(await patterns(user)).toEqual(support);
    // Deaf, nothing is kept: the next change behind its back shows at once too.
    await handle.db.delete(principalRoles).where(eq(principalRoles.userId, user));
    expect(await patterns(user)).toEqual([]);
    await grantPlatformRole(user, "support");
    rbac.resolver.connectionChanged(true);
    expect(await patterns(user)).toEqual(support);
    // Hearing again, answers are cached again.
    await handle.db.delete(principalRoles).where(eq(principalRoles.userId, user));
    expect(await patterns(user)).toEqual(support);
    await rbac.resolver.changed(handle.db, user);
    expect(await patterns(user)).toEqual([]);
  });

  test("the effective patterns are the organization role's in that organization plus the platform roles' everywhere", async () => {
    const owner = await newUser();
    const user = await newUser();
    const acme = await rbac.organizations.create(owner, { name: "Resolver Acme" }, {});
    const other = await rbac.organizations.create(owner, { name: "Resolver Other" }, {});
    await addMember(acme.id, user, "admin");
    await grantPlatformRole(user, "support");
    await rbac.resolver.changed(handle.db, user);

    const inAcme = await rbac.resolver.resolve(user, acme.id);
    expect(inAcme.orgRole).toBe("admin");
    expect([...inAcme.patterns].sort()).toEqual(
      ["audit:read", "members:*", "members:read", "org:read", "org:update", "roles:*", "users:read"].sort(),
    );
    // Elsewhere, and with no organization, only the platform role counts.
    const support = ["audit:read", "members:read", "org:read", "users:read"];
    expect((await rbac.resolver.resolve(user, other.id)).orgRole).toBeNull();
    expect(await patterns(user, other.id)).toEqual(support);
    expect(await patterns(user)).toEqual(support);
    // A pattern covers the actions under it.
    expect(await rbac.can(user, "members:invite", { orgId: acme.id })).toBe(true);
    expect(await rbac.can(user, "members:invite", { orgId: other.id })).toBe(false);
    expect(await rbac.can(user, "org:delete", { orgId: acme.id })).toBe(false);
  });

  test("a deleted organization grants nothing", async () => {
    const owner = await newUser();
    const org = await rbac.organizations.create(owner, { name: "Resolver Gone" }, {});
    expect(await rbac.can(owner, "org:delete", { orgId: org.id })).toBe(true);
    await handle.db.update(organizations).set({ deletedAt: clock.now() }).where(eq(organizations.id, org.id));
    await rbac.resolver.changed(handle.db, owner);
    expect(await rbac.resolver.resolve(owner, org.id)).toEqual({ patterns: new Set(), orgRole: null });
  });

  test("results are cached: a change written without changed() is not seen; changed() makes it seen at once", async () => {
    const owner = await newUser();
    const user = await newUser();
    const org = await rbac.organizations.create(owner, { name: "Resolver Cache" }, {});
    expect(await rbac.can(user, "org:read", { orgId: org.id })).toBe(false);
    await addMember(org.id, user, "viewer");
    expect(await rbac.can(user, "org:read", { orgId: org.id })).toBe(false);
    await rbac.resolver.changed(handle.db, user);
    expect(await rbac.can(user, "org:read", { orgId: org.id })).toBe(true);
    // Called inside the transaction that changes the roles, as documented.
    const memberRole = await roleId("member");
    await handle.db.transaction(async (tx) => {
      await tx
        .update(organizationMemberships)
        .set({ roleId: memberRole })
        .where(and(eq(organizationMemberships.orgId, org.id), eq(organizationMemberships.userId, user)));
      await rbac.resolver.changed(tx, user);
    });
    expect((await rbac.resolver.resolve(user, org.id)).orgRole).toBe("member");
    expect(await rbac.can(user, "roles:read", { orgId: org.id })).toBe(true);
  });

  test("changed(user) evicts every organization's entry of that user and nobody else's; changed('*') evicts all", async () => {
    const owner = await newUser();
    const first = await newUser();
    const second = await newUser();
    const orgA = await rbac.organizations.create(owner, { name: "Resolver Evict A" }, {});
    const orgB = await rbac.organizations.create(owner, { name: "Resolver Evict B" }, {});
    // Cache the empty answers.
    for (const user of [first, second])
      for (const org of [orgA, orgB]) expect(await rbac.can(user, "org:read", { orgId: org.id })).toBe(false);
    for (const user of [first, second]) for (const org of [orgA, orgB]) await addMember(org.id, user, "viewer");

    await rbac.resolver.changed(handle.db, first);
    expect(await rbac.can(first, "org:read", { orgId: orgA.id })).toBe(true);
    expect(await rbac.can(first, "org:read", { orgId: orgB.id })).toBe(true);
    expect(await rbac.can(second, "org:read", { orgId: orgA.id })).toBe(false);

    await rbac.resolver.changed(handle.db, "*");
    expect(await rbac.can(second, "org:read", { orgId: orgA.id })).toBe(true);
    expect(await rbac.can(second, "org:read", { orgId: orgB.id })).toBe(true);
  });

  test("an entry holding an elevation stops being true when the elevation ends, without any eviction", async () => {
    const user = await newUser();
    const endsAt = new Date(clock.now().getTime() + HOUR);
    await handle.db.insert(elevations).values({
      id: newId("elevation"),
      userId: user,
      roleId: await roleId("support"),
      orgId: null,
      reason: "incident",
      minutes: 60,
      status: "active",
      requestedAt: clock.now(),
      startsAt: clock.now(),
      endsAt,
    });
    await rbac.resolver.changed(handle.db, user);
    expect(await rbac.can(user, "audit:read")).toBe(true);
    clock.advance(HOUR - 1);
    expect(await rbac.can(user, "audit:read")).toBe(true);
    clock.advance(1);
    expect(await rbac.can(user, "audit:read")).toBe(false);
  });

  test("a miss read through the caller's transaction sees that transaction's own writes", async () => {
    const owner = await newUser();
    const user = await newUser();
    const org = await rbac.organizations.create(owner, { name: "Resolver Tx" }, {});
    const viewer = await roleId("viewer");
    // On PGlite there is one connection: everything inside goes through tx.
    await handle.db.transaction(async (tx) => {
      await tx
        .insert(organizationMemberships)
        .values({ orgId: org.id, userId: user, roleId: viewer, joinedAt: clock.now() });
      await rbac.resolver.changed(tx, user);
      expect(await rbac.can(user, "org:read", { orgId: org.id, db: tx })).toBe(true);
    });
  });

  test("what a transaction that rolls back read about the users it changed is never kept", async () => {
    const owner = await newUser();
    const user = await newUser();
    const org = await rbac.organizations.create(owner, { name: "Resolver Rollback" }, {});
    const admin = await roleId("admin");
    // Cached before: not a member.
    expect(await rbac.can(user, "members:update", { orgId: org.id })).toBe(false);
    const rolledBack = new Error("roll back");
    await expect(
      handle.db.transaction(async (tx) => {
        await tx
          .insert(organizationMemberships)
          .values({ orgId: org.id, userId: user, roleId: admin, joinedAt: clock.now() });
        await rbac.resolver.changed(tx, user);
        // Read inside, twice (a second read must not be a hit either): the transaction sees its own write.
        expect(await rbac.can(user, "members:update", { orgId: org.id, db: tx })).toBe(true);
        expect(await rbac.can(user, "members:update", { orgId: org.id, db: tx })).toBe(true);
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
    // The membership never happened, and no cached entry says it did.
    expect(await rbac.can(user, "members:update", { orgId: org.id })).toBe(false);
    expect((await rbac.resolver.resolve(user, org.id)).orgRole).toBeNull();
  });
});
