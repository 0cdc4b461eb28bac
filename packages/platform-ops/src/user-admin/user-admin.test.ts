import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { newId, PlatformError, queryRows, type UserId } from "@burrow/platform-core";
import { createTestAuth, type TestAuth } from "@burrow/platform-auth/testing";
import { principalRoles } from "@burrow/platform-rbac/schema";
import { createTestRbac, type TestRbac } from "@burrow/platform-rbac/testing";
import { createUserAdministration, type UserAdministration } from "./user-admin.ts";

const PARALLEL = 12;
/** Each race runs a few times: the first can finish before the pool has opened all its connections. */
const ROUNDS = 3;
const PASSWORD = "purple submarine garden";

/** Concurrent calls' outcomes: what succeeded, and the codes of the rest (which must all be PlatformErrors). */
function outcomes<T>(settled: PromiseSettledResult<T>[]): {
  succeeded: T[];
  codes: string[];
} {
  const succeeded: T[] = [];
  const codes: string[] = [];
  for (const result of settled) {
    if (result.status === "fulfilled") succeeded.push(result.value);
    else {
      expect(result.reason).toBeInstanceOf(PlatformError);
      codes.push((result.reason as PlatformError).code);
    }
  }
  return { succeeded, codes };
}

const times = <T>(count: number, call: () => Promise<T>): Promise<T>[] => Array.from({ length: count }, call);

describe("user administration under concurrency", () => {
  let t: TestAuth;
  let r: TestRbac;
  let admin: UserAdministration;
  let operator: string;

  beforeAll(async () => {
    t = await createTestAuth();
    r = await createTestRbac({ handle: t.handle, clock: t.clock });
    const { auth } = t;
    admin = createUserAdministration({
      db: t.handle.db,
      users: auth.users,
      sessions: auth.sessions,
      notices: auth.notices,
      factors: auth.factors,
      apiKeys: auth.apiKeys,
      organizations: r.rbac.organizations,
      flows: auth.flows,
      phones: auth.phones,
      emails: auth.emails,
      linkedAccounts: auth.linkedAccounts,
      impersonation: auth.impersonation,
      audit: t.audit,
      resolver: r.rbac.resolver,
      clock: t.clock,
    });
    operator = await r.newUser("operator");
    await t.handle.db.insert(principalRoles).values({
      id: newId("role"),
      userId: operator,
      roleId: await r.roleId("platform_admin"),
      createdAt: t.clock.now(),
    });
  });
  afterAll(() => t.handle.close());

  const audited = async (action: string, targetId: string) =>
    Number(
      (
        await queryRows<{ count: number | string }>(
          t.handle.db,
          sql`select count(*) as count from audit_logs where action = ${action} and target_id = ${targetId}`,
        )
      )[0]?.count,
    );
  const liveAccounts = (address: string) =>
    queryRows<{ id: string; status: string }>(
      t.handle.db,
      sql`select id, status from users where email_normalized = ${address} and deleted_at is null`,
    );
  const statusOf = async (userId: string) =>
    (
      await queryRows<{ status: string; deleted: boolean }>(
        t.handle.db,
        sql`select status, deleted_at is not null as deleted from users where id = ${userId}`,
      )
    )[0];
  const signedUp = async (address: string): Promise<UserId> => {
    const result = await t.auth.signUp({ email: address, password: PASSWORD, name: null }, {});
    if (result.kind !== "signed_in") throw new Error("expected a session");
    return result.user.id as UserId;
  };

  test("concurrent creates of one address: one account and one audit entry, the others email_taken", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const address = `created-twice-${round}@example.com`;
      const { succeeded, codes } = outcomes(
        await Promise.allSettled(
          times(PARALLEL, () => admin.create(operator, { email: address, sendSetupEmail: false }, {})),
        ),
      );
      expect(succeeded.length).toBe(1);
      expect(codes).toEqual(Array(PARALLEL - 1).fill("email_taken"));
      expect(await liveAccounts(address)).toEqual([{ id: succeeded[0]!.id, status: "invited" }]);
      expect(await audited("user.created", succeeded[0]!.id)).toBe(1);
    }
  });

  test("an operator's creates racing sign-ups for one address: one account, every loser email_taken", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const address = `raced-sign-up-${round}@example.com`;
      const { succeeded, codes } = outcomes(
        await Promise.allSettled([
          ...times(PARALLEL / 2, () => signedUp(address)),
          ...times(PARALLEL / 2, async () => (await admin.create(operator, { email: address }, {})).id as UserId),
        ]),
      );
      expect(succeeded.length).toBe(1);
      expect(codes).toEqual(Array(PARALLEL - 1).fill("email_taken"));
      expect((await liveAccounts(address)).map((row) => row.id)).toEqual([succeeded[0]!]);
    }
  });

  test("concurrent deletes of one user: one succeeds and is audited, the others not_found", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const userId = await signedUp(`deleted-twice-${round}@example.com`);
      const { succeeded, codes } = outcomes(
        await Promise.allSettled(times(PARALLEL, () => admin.delete(operator, userId, {}))),
      );
      expect(succeeded.length).toBe(1);
      expect(codes).toEqual(Array(PARALLEL - 1).fill("not_found"));
      expect(await audited("user.deleted", userId)).toBe(1);
      expect(await statusOf(userId)).toEqual({
        status: "deleted",
        deleted: true,
      });
    }
  });

  test("concurrent unsuspends of one user: one succeeds and is audited, the others not_suspended", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const userId = await signedUp(`unsuspended-twice-${round}@example.com`);
      await admin.suspend(operator, userId, {});
      const { succeeded, codes } = outcomes(
        await Promise.allSettled(times(PARALLEL, () => admin.unsuspend(operator, userId, {}))),
      );
      expect(succeeded.map((row) => row.status)).toEqual(["active"]);
      expect(codes).toEqual(Array(PARALLEL - 1).fill("not_suspended"));
      expect(await audited("user.unsuspended", userId)).toBe(1);
      expect(await statusOf(userId)).toEqual({
        status: "active",
        deleted: false,
      });
    }
  });

  test("concurrent suspends of one user all answer the suspended account, audited once", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const userId = await signedUp(`suspended-twice-${round}@example.com`);
      const { succeeded, codes } = outcomes(
        await Promise.allSettled(times(PARALLEL, () => admin.suspend(operator, userId, {}))),
      );
      expect(codes).toEqual([]);
      expect(succeeded.map((row) => row.status)).toEqual(Array(PARALLEL).fill("suspended"));
      expect(await audited("user.suspended", userId)).toBe(1);
    }
  });

  test("suspends racing a delete never leave the deleted account suspended", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const userId = await signedUp(`suspend-or-delete-${round}@example.com`);
      const settled = await Promise.allSettled<unknown>([
        admin.delete(operator, userId, {}),
        ...times(PARALLEL - 1, () => admin.suspend(operator, userId, {})),
      ]);
      expect(settled[0]!.status).toBe("fulfilled");
      const { codes } = outcomes(settled);
      expect(codes.filter((code) => code !== "not_found")).toEqual([]);
      expect(await audited("user.deleted", userId)).toBe(1);
      expect(await audited("user.suspended", userId)).toBeLessThanOrEqual(1);
      expect(await statusOf(userId)).toEqual({
        status: "deleted",
        deleted: true,
      });
    }
  });
});
