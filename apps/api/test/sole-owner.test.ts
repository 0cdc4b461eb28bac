import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq, like, sql } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import { users } from "@burrow/platform-auth/schema";
import type { Database } from "@burrow/platform-core";
import { heldOpen, untilWaiting } from "@burrow/platform-core/testing";
import { organizationMemberships, organizations, roles } from "@burrow/platform-rbac/schema";
import {
  createTestApi,
  grantPlatformPermissions,
  post,
  readProblem,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

// An organization keeps a live owner: its only owner's account is not deleted, by themselves or by an
// operator, until they hand it on; anyone else's memberships end with their account
// (docs/authorization.md, "Organizations").
describe("deleting an account that belongs to organizations", () => {
  let api: TestApi;
  let operator: TestUser;
  beforeAll(async () => {
    api = await createTestApi();
    operator = await signUpUser(api, { name: "Olga Operator" });
    await grantPlatformPermissions(api, operator.id, ["users:read", "users:manage"]);
  }, 60_000);
  afterAll(() => api.close());

  const call = (who: TestUser, method: string, path: string, json?: unknown) =>
    api.request(path, { method, headers: who.bearer, ...(json === undefined ? {} : { json }) });
  const deleteOwn = (who: TestUser) => call(who, "DELETE", "/v1/me");
  const roleIdOf = async (key: string) => (await api.platform.db.select().from(roles).where(eq(roles.key, key)))[0]!.id;
  /** Another change to the organization's memberships, as every one starts: its row locked. */
  const holdingOrganization = (orgId: string) => async (tx: Database) => {
    await tx.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, orgId)).for("update");
  };
  /** An organization `owner` creates, with each of `members` in it as `role`. */
  async function organization(owner: TestUser, name: string, members: TestUser[] = [], role = "member") {
    const created = (await (await call(owner, "POST", "/v1/orgs", { name })).json()) as { id: string; slug: string };
    const roleId = await roleIdOf(role);
    for (const member of members) {
      await api.platform.db
        .insert(organizationMemberships)
        .values({ orgId: created.id, userId: member.id, roleId, joinedAt: api.clock.now() });
      await api.platform.rbac.resolver.changed(api.platform.db, member.id);
    }
    return created;
  }
  const live = async (who: TestUser) => (await call(who, "GET", "/v1/me")).status === 200;
  const memberIds = async (who: TestUser, orgId: string) =>
    ((await (await call(who, "GET", `/v1/orgs/${orgId}/members`)).json()) as { data: { userId: string }[] }).data.map(
      (member) => member.userId,
    );
  /** The membership entries of the audit log about one account in one organization. */
  const membershipTrail = (orgId: string, userId: string) =>
    api.platform.db
      .select({ action: auditLogs.action, actorId: auditLogs.actorId, metadata: auditLogs.metadata })
      .from(auditLogs)
      .where(and(eq(auditLogs.orgId, orgId), eq(auditLogs.targetId, userId), like(auditLogs.action, "member.%")));

  test("refused with 409 last_owner naming the organizations, until another member is made owner", async () => {
    const owner = await signUpUser(api);
    const member = await signUpUser(api);
    const shared = await organization(owner, "Sole Shared", [member]);
    const alone = await organization(owner, "Sole Alone");
    const refused = await deleteOwn(owner);
    expect(refused.status).toBe(409);
    expect(refused.headers.get("content-type")).toStartWith("application/problem+json");
    const problem = (await refused.json()) as { code: string; detail: string; organizations: { id: string }[] };
    expect(problem.code).toBe("last_owner");
    // Both: one with members left behind, one with nobody else (it would be left with no one to run it).
    expect(problem.organizations.map((org) => org.id).sort()).toEqual([shared.id, alone.id].sort());
    expect(problem.detail).toContain(shared.slug);
    // Nothing changed: the account and its session still work.
    expect(await live(owner)).toBe(true);

    expect(
      (await call(owner, "POST", `/v1/orgs/${shared.id}/transfer-ownership`, { userId: member.id })).status,
    ).toBeLessThan(300);
    expect(((await (await deleteOwn(owner)).json()) as { organizations: { id: string }[] }).organizations).toEqual([
      expect.objectContaining({ id: alone.id }),
    ]);
    expect((await call(owner, "DELETE", `/v1/orgs/${alone.id}`)).status).toBe(204);
    expect((await deleteOwn(owner)).status).toBe(204);
    expect(await live(owner)).toBe(false);
  });

  test("a co-owner's account deleted: their membership ends with it, and the owner left can neither leave nor delete theirs", async () => {
    const first = await signUpUser(api);
    const second = await signUpUser(api);
    const org = await organization(first, "Two Owners", [second], "owner");
    // Another live owner remains: the first may go, and their membership goes with the account.
    expect((await deleteOwn(first)).status).toBe(204);
    expect(await memberIds(second, org.id)).toEqual([second.id]);
    expect(await membershipTrail(org.id, first.id)).toEqual([
      { action: "member.left", actorId: first.id, metadata: { reason: "account_deleted" } },
    ]);
    const leaving = await call(second, "DELETE", `/v1/orgs/${org.id}/members/${second.id}`);
    expect(leaving.status).toBe(409);
    expect((await readProblem(leaving)).code).toBe("last_owner");
    expect((await readProblem(await deleteOwn(second))).code).toBe("last_owner");
  });

  test("an operator's deletion is refused the same way, with the organization named for the console", async () => {
    const owner = await signUpUser(api);
    const org = await organization(owner, "Operated");
    const refused = await call(operator, "DELETE", `/v1/admin/users/${owner.id}`);
    expect(refused.status).toBe(409);
    const problem = await readProblem(refused);
    expect(problem.code).toBe("last_owner");
    expect(problem.detail).toContain(`Operated (${org.slug})`);
    expect(await live(owner)).toBe(true);
    // Suspension stays possible (it is undone by unsuspending; the organization keeps its owner).
    expect((await post(api, `/v1/admin/users/${owner.id}/suspend`, {}, operator.bearer)).status).toBe(200);
    // A member's account the operator deletes leaves the organization, audited as their removal.
    const member = await signUpUser(api);
    const team = await organization(operator, "Operated Team", [member]);
    expect((await call(operator, "DELETE", `/v1/admin/users/${member.id}`)).status).toBe(204);
    expect(await memberIds(operator, team.id)).toEqual([operator.id]);
    expect(await membershipTrail(team.id, member.id)).toEqual([
      { action: "member.removed", actorId: operator.id, metadata: { reason: "account_deleted" } },
    ]);
  });

  test("migration 0031 removes the memberships of accounts deleted before they ended with the account", async () => {
    const owner = await signUpUser(api);
    const gone = await signUpUser(api);
    const team = await organization(owner, "Deleted Long Ago", [gone]);
    // As a deletion before this release left it: the account deleted, its membership still there.
    const now = api.clock.now();
    await api.platform.db.update(users).set({ status: "deleted", deletedAt: now }).where(eq(users.id, gone.id));
    const rows = () =>
      api.platform.db
        .select({ userId: organizationMemberships.userId })
        .from(organizationMemberships)
        .where(eq(organizationMemberships.orgId, team.id));
    expect((await rows()).map((row) => row.userId).sort()).toEqual([owner.id, gone.id].sort());
    const migration = await Bun.file(
      new URL("../../../migrations/0031_deleted_accounts_leave_organizations.sql", import.meta.url),
    ).text();
    await api.platform.db.execute(sql.raw(migration));
    expect(await rows()).toEqual([{ userId: owner.id }]);
  });

  test.skipIf(process.env.DATABASE_URL === undefined)(
    "two co-owners deleting their accounts at once: one goes, the other is refused (PostgreSQL)",
    async () => {
      const first = await signUpUser(api);
      const second = await signUpUser(api);
      const org = await organization(first, "Both Leaving", [second], "owner");
      // The organization's row held, so that both deletions are under way when it is let go.
      const held = await heldOpen(api.platform.db, holdingOrganization(org.id));
      const both = [deleteOwn(first), deleteOwn(second)] as const;
      // Both wait on the organization: before, each saw the other still an owner and both went.
      expect(await untilWaiting(api.platform.db, both)).toBe(2);
      const answers = await held.settle(both);
      expect(answers.map((answer) => answer.status).sort()).toEqual([204, 409]);
      expect([await live(first), await live(second)].filter(Boolean)).toHaveLength(1);
    },
  );

  test.skipIf(process.env.DATABASE_URL === undefined)(
    "ownership handed to an account while it is being deleted: the deletion sees it, and is refused (PostgreSQL)",
    async () => {
      const owner = await signUpUser(api);
      const heir = await signUpUser(api);
      const org = await organization(owner, "Handed On", [heir], "admin");
      const [ownerRole, adminRole] = [await roleIdOf("owner"), await roleIdOf("admin")];
      const membershipOf = (userId: string) =>
        and(eq(organizationMemberships.orgId, org.id), eq(organizationMemberships.userId, userId));
      // An ownership transfer as the service makes it: the organization's row, held open, then the two roles.
      const transfer = await heldOpen(api.platform.db, holdingOrganization(org.id), async (tx) => {
        await tx.update(organizationMemberships).set({ roleId: ownerRole }).where(membershipOf(heir.id));
        await tx.update(organizationMemberships).set({ roleId: adminRole }).where(membershipOf(owner.id));
      });
      const deleting = deleteOwn(heir);
      expect(await untilWaiting(api.platform.db, [deleting])).toBe(1);
      // Before, the deletion judged by the role it read before the lock (admin), removed the membership
      // and left the organization with no owner.
      const [deleted] = await transfer.settle([deleting]);
      expect(deleted.status).toBe(409);
      expect((await readProblem(deleted)).code).toBe("last_owner");
      expect(await live(heir)).toBe(true);
    },
  );

  test.skipIf(process.env.DATABASE_URL === undefined)(
    "an organization founded while its founder's account is being deleted: refused, none left owned by the deleted account (PostgreSQL)",
    async () => {
      const founder = await signUpUser(api);
      // The account's deletion as the service makes it, held open before its commit.
      const deletion = await heldOpen(api.platform.db, async (tx) => {
        const now = api.clock.now();
        await tx
          .update(users)
          .set({ status: "deleted", deletedAt: now, updatedAt: now })
          .where(eq(users.id, founder.id));
      });
      const founding = call(founder, "POST", "/v1/orgs", { name: "Founded Late" });
      expect(await untilWaiting(api.platform.db, [founding])).toBe(1);
      // Before, the founding took no lock on the account and committed beside its deletion.
      const [founded] = await deletion.settle([founding]);
      expect(founded.status).toBe(401);
      const owned = await api.platform.db
        .select()
        .from(organizationMemberships)
        .where(eq(organizationMemberships.userId, founder.id));
      expect(owned).toEqual([]);
    },
  );
});
