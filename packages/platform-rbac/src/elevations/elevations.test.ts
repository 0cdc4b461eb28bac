import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq, inArray } from "drizzle-orm";
import { newId, PlatformError, type DatabaseHandle } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { createTestClock } from "@burrow/platform-core/testing";
import type { ElevationRow, Rbac } from "../index.ts";
import { createTestRbac, type TestRbac } from "../test-rbac.ts";
import { elevations, organizationMemberships, roleEligibilities } from "../schema.ts";

describe("elevations", () => {
  let handle: DatabaseHandle;
  let rbac: Rbac;
  const clock = createTestClock();
  const ids: Record<string, string> = {};
  let t: TestRbac;
  const roleId = (key: string) => t.roleId(key);
  beforeAll(async () => {
    t = await createTestRbac({ clock });
    ({ handle, rbac } = t);
    for (const name of ["owner", "former", "member", "other"]) ids[name] = await t.newUser(name);
  }, 60_000);
  afterAll(() => handle.close());

  test("an organization elevation grants nothing to someone who is no longer a member", async () => {
    const org = await rbac.organizations.create(ids.owner!, { name: "Former" }, {});
    // An active elevation left from before memberships ended them (no membership row for `former`).
    await handle.db.insert(elevations).values({
      id: newId("elevation"),
      userId: ids.former!,
      roleId: await roleId("admin"),
      orgId: org.id,
      reason: "old",
      minutes: 60,
      status: "active",
      requestedAt: clock.now(),
      startsAt: clock.now(),
      endsAt: new Date(clock.now().getTime() + 3_600_000),
    });
    await rbac.resolver.changed(handle.db, ids.former!);
    expect((await rbac.resolver.resolve(ids.former!, org.id)).patterns.size).toBe(0);
    expect(await rbac.can(ids.former!, "org:read", { orgId: org.id })).toBe(false);
    // The same row counts once they are a member.
    await handle.db
      .insert(organizationMemberships)
      .values({ orgId: org.id, userId: ids.former!, roleId: await roleId("viewer"), joinedAt: clock.now() });
    await rbac.resolver.changed(handle.db, ids.former!);
    expect(await rbac.can(ids.former!, "members:update", { orgId: org.id })).toBe(true);
  });

  test("without a way to know of a second factor, elevation into a role holding * is refused", async () => {
    const org = await rbac.organizations.create(ids.owner!, { name: "Factorless" }, {});
    await handle.db
      .insert(organizationMemberships)
      .values({ orgId: org.id, userId: ids.member!, roleId: await roleId("member"), joinedAt: clock.now() });
    await rbac.resolver.changed(handle.db, ids.member!);
    await rbac.elevations.makeEligible(
      ids.owner!,
      org.id,
      { userId: ids.member!, role: "owner", approverPermission: "org:transfer" },
      {},
    );
    await expect(
      rbac.elevations.request(ids.member!, { orgId: org.id, role: "owner", reason: "incident" }, {}),
    ).rejects.toMatchObject({ code: "mfa_required_by_policy" });
    // A role without `*` needs no factor.
    await rbac.elevations.makeEligible(ids.owner!, org.id, { userId: ids.member!, role: "admin" }, {});
    expect(
      (await rbac.elevations.request(ids.member!, { orgId: org.id, role: "admin", reason: "tidy up" }, {})).status,
    ).toBe("active");
  });

  test("endAllFor ends a user's eligibilities and elevations everywhere, and nobody else's", async () => {
    const org = await rbac.organizations.create(ids.owner!, { name: "Leaving" }, {});
    for (const name of ["member", "other"] as const) {
      await handle.db
        .insert(organizationMemberships)
        .values({ orgId: org.id, userId: ids[name]!, roleId: await roleId("viewer"), joinedAt: clock.now() });
      await rbac.resolver.changed(handle.db, ids[name]!);
      await rbac.elevations.makeEligible(ids.owner!, org.id, { userId: ids[name]!, role: "admin" }, {});
      await rbac.elevations.request(ids[name]!, { orgId: org.id, role: "admin", reason: "work" }, {});
    }
    await handle.db.transaction((tx) => rbac.elevations.endAllFor(tx, ids.member!));
    expect(await handle.db.select().from(roleEligibilities).where(eq(roleEligibilities.userId, ids.member!))).toEqual(
      [],
    );
    expect((await rbac.elevations.list(handle.db, ids.member!)).every((row) => row.status === "ended")).toBe(true);
    expect(await rbac.can(ids.member!, "members:update", { orgId: org.id })).toBe(false);
    expect(await rbac.can(ids.other!, "members:update", { orgId: org.id })).toBe(true);
    expect(
      (await handle.db.select().from(roleEligibilities).where(eq(roleEligibilities.userId, ids.other!))).length,
    ).toBe(1);
  });

  test("approving and denying one pending elevation at once: exactly one decision stands, 10 rounds", async () => {
    for (let round = 0; round < 10; round++) {
      const owner = await t.newUser("decide");
      const admin = await t.newUser("decide");
      const requester = await t.newUser("decide");
      const org = await rbac.organizations.create(owner, { name: `Decide ${round}` }, {});
      for (const [userId, key] of [
        [admin, "admin"],
        [requester, "viewer"],
      ] as const) {
        await handle.db.insert(organizationMemberships).values({
          orgId: org.id,
          userId,
          roleId: await roleId(key),
          joinedAt: clock.now(),
        });
        await rbac.resolver.changed(handle.db, userId);
      }
      await rbac.elevations.makeEligible(
        owner,
        org.id,
        { userId: requester, role: "member", approverPermission: "members:update" },
        {},
      );
      const pending = await rbac.elevations.request(requester, { orgId: org.id, role: "member", reason: "work" }, {});
      expect(pending.status).toBe("pending");
      const outcomes = await Promise.allSettled([
        rbac.elevations.approve(owner, pending.id, {}),
        rbac.elevations.deny(admin, pending.id, {}),
        rbac.elevations.deny(owner, pending.id, {}),
      ]);
      const decided = outcomes.filter(
        (outcome): outcome is PromiseFulfilledResult<ElevationRow> => outcome.status === "fulfilled",
      );
      expect(decided.length).toBe(1);
      for (const outcome of outcomes) {
        if (outcome.status === "fulfilled") continue;
        expect(outcome.reason).toBeInstanceOf(PlatformError);
        // Read as pending, then decided by another: not pending any more; read once decided: not found.
        expect(["elevation_not_pending", "not_found"]).toContain((outcome.reason as PlatformError).code);
      }
      const [row] = await handle.db.select().from(elevations).where(eq(elevations.id, pending.id));
      expect(row!.status).toBe(decided[0]!.value.status);
      const audited = await handle.db
        .select()
        .from(auditLogs)
        .where(
          and(
            eq(auditLogs.targetId, pending.id),
            inArray(auditLogs.action, ["elevation.approved", "elevation.denied"]),
          ),
        );
      expect(audited.length).toBe(1);
    }
  });
});
