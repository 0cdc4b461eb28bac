import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { queryRows, type DatabaseHandle, type UserId } from "@burrow/platform-core";
import { createTestClock } from "@burrow/platform-core/testing";
import type { Auth } from "../index.ts";
import { users } from "../schema.ts";
import { atOnce, createTestAuth } from "../test-auth.ts";

describe("user services", () => {
  let handle: DatabaseHandle;
  let auth: Auth;
  const clock = createTestClock();
  const verifies: string[] = [];
  beforeAll(async () => {
    ({ handle, auth } = await createTestAuth({ clock }));
  });
  afterAll(() => handle.close());

  const signUp = async (email: string, name?: string) => {
    const result = await auth.signUp({ email, password: "purple submarine garden", name: name ?? null }, {});
    if (result.kind !== "signed_in") throw new Error("expected a session");
    return result;
  };

  test("an unknown address spends one Argon2id verify, like a wrong password", async () => {
    await signUp("timing@example.com");
    // Counts the Argon2id verifications each path really performs.
    const original = Bun.password.verify;
    Bun.password.verify = (async (...args: Parameters<typeof original>) => {
      verifies.push(String(args[1]).slice(0, 31));
      return original(...args);
    }) as typeof original;
    try {
      await expect(auth.signIn({ email: "nobody@example.com", password: "whatever it is" }, {})).rejects.toMatchObject({
        code: "invalid_credentials",
      });
      await expect(auth.signIn({ email: "timing@example.com", password: "whatever it is" }, {})).rejects.toMatchObject({
        code: "invalid_credentials",
      });
    } finally {
      Bun.password.verify = original;
    }
    // Same algorithm, same parameters, one each.
    expect(verifies).toEqual(["$argon2id$v=19$m=19456,t=2,p=1$", "$argon2id$v=19$m=19456,t=2,p=1$"]);
  });

  test("a sign-in rewrites its user's row in place: every page of users keeps room for it", async () => {
    // 300 accounts written at once, as an import would: their pages are filled as far as the table allows.
    const hash = await Bun.password.hash("purple submarine garden", {
      algorithm: "argon2id",
      memoryCost: 19_456,
      timeCost: 2,
    });
    const idOf = sql.raw(`'usr_1' || lpad(to_hex(i), 25, '0')`);
    await handle.db.execute(sql`
      insert into users (id, email, email_normalized, name, status, email_verified_at, created_at, updated_at)
      select ${idOf}, 'packed' || i || '@example.com', 'packed' || i || '@example.com', 'Packed ' || i, 'active', now(), now(), now()
      from generate_series(1, 300) as i`);
    await handle.db.execute(sql`
      insert into credentials_password (user_id, hash, created_at, updated_at)
      select ${idOf}, ${hash}, now(), now() from generate_series(1, 300) as i`);
    const page = async () => {
      const [row] = await handle.db
        .select({ page: sql<number>`(ctid::text::point)[0]::int` })
        .from(users)
        .where(eq(users.emailNormalized, "packed1@example.com"));
      return Number(row!.page);
    };
    const before = await page();
    const outcome = await auth.signIn({ email: "packed1@example.com", password: "purple submarine garden" }, {});
    expect(outcome.kind).toBe("signed_in");
    // The new version of the row (its last sign-in time) fit beside the old one: no index was touched.
    expect(await page()).toBe(before);
  });

  test("search pages by id and matches email, name or id", async () => {
    for (let index = 0; index < 5; index++) await signUp(`search${index}@corp.example`, `Searchable ${index}`);
    const first = await auth.users.search(handle.db, { query: "corp.example", limit: 2 });
    expect(first.data.map((row) => row.email)).toEqual(["search0@corp.example", "search1@corp.example"]);
    const second = await auth.users.search(handle.db, { query: "corp.example", limit: 2, cursor: first.nextCursor! });
    expect(second.data.map((row) => row.email)).toEqual(["search2@corp.example", "search3@corp.example"]);
    const last = await auth.users.search(handle.db, { query: "corp.example", limit: 2, cursor: second.nextCursor! });
    expect(last.data.length).toBe(1);
    expect(last.nextCursor).toBeNull();
    expect((await auth.users.search(handle.db, { query: "SEARCHABLE 3" })).data.map((row) => row.email)).toEqual([
      "search3@corp.example",
    ]);
    const id = first.data[0]!.id;
    expect((await auth.users.search(handle.db, { query: id })).data.map((row) => row.id)).toEqual([id]);
    // LIKE wildcards in the query are literal.
    expect((await auth.users.search(handle.db, { query: "%" })).data).toEqual([]);
  });

  test("suspend revokes every session; the status filter finds them", async () => {
    const { user, token } = await signUp("suspend-me@example.com");
    await signUp("bystander@example.com");
    await auth.users.suspend(handle.db, user.id, "system", {});
    expect((await auth.sessions.validate(token)).reason).toBe("revoked");
    expect((await auth.users.search(handle.db, { status: "suspended" })).data.map((row) => row.email)).toEqual([
      "suspend-me@example.com",
    ]);
    await auth.users.unsuspend(handle.db, user.id, "system", {});
    expect((await auth.users.get(handle.db, user.id))?.status).toBe("active");
    await expect(auth.users.unsuspend(handle.db, user.id, "system", {})).rejects.toMatchObject({
      code: "not_suspended",
    });
  });

  test("soft delete revokes everything and frees the address", async () => {
    const { user, token } = await signUp("leaving@example.com");
    await auth.users.softDelete(handle.db, user.id, "system", {});
    expect((await auth.sessions.validate(token)).session).toBeNull();
    expect(await auth.users.get(handle.db, user.id)).toBeUndefined();
    await expect(
      auth.signIn({ email: "leaving@example.com", password: "purple submarine garden" }, {}),
    ).rejects.toMatchObject({ code: "invalid_credentials" });
    const again = await signUp("leaving@example.com");
    expect(again.user.id).not.toBe(user.id);
    expect((await auth.users.search(handle.db, { status: "deleted" })).data.map((row) => row.id)).toEqual([user.id]);
    await expect(auth.users.suspend(handle.db, user.id as UserId, "system", {})).rejects.toMatchObject({
      code: "not_found",
    });
  });

  test("a sign-in whose caller hung up before its hash is dropped: no hash, its slot given back, nothing recorded", async () => {
    // The queue itself (a caller leaving it while waiting) is hashing.ts's test; here the service's
    // part: the attempt's lockout slot, taken before the hash, goes back.
    const { user } = await signUp("gone@example.com");
    const slotsTaken = async () =>
      (
        await queryRows<{ failures: number }>(
          handle.db,
          sql`select failures from sign_in_throttles where key = 'gone@example.com'`,
        )
      ).map((row) => Number(row.failures));
    const recorded = async () =>
      (
        await queryRows<{ action: string }>(
          handle.db,
          sql`select action from audit_logs where target_id = ${user.id} or actor_id = ${user.id} order by id`,
        )
      ).map((row) => row.action);
    const before = await recorded();
    const original = Bun.password.verify;
    let verified = 0;
    Bun.password.verify = (async (...args: Parameters<typeof original>) => {
      verified++;
      return original(...args);
    }) as typeof original;
    try {
      const caller = new AbortController();
      caller.abort();
      for (let attempt = 0; attempt < 3; attempt++)
        await expect(
          auth.signIn({ email: "gone@example.com", password: "purple submarine garden" }, { signal: caller.signal }),
        ).rejects.toMatchObject({ code: "caller_gone" });
    } finally {
      Bun.password.verify = original;
    }
    expect(verified).toBe(0);
    // Three attempts took a slot each and gave it back: the account is not nearer a lockout.
    expect(await slotsTaken()).toEqual([0]);
    expect(await recorded()).toEqual(before);
    const outcome = await auth.signIn({ email: "gone@example.com", password: "purple submarine garden" }, {});
    expect(outcome.kind).toBe("signed_in");
  });

  test("tokens are stored only as hashes", async () => {
    const { token, session } = await signUp("hashes@example.com");
    const secret = token.split(".")[1]!;
    expect(session.secretHash).not.toContain(secret);
    expect(session.secretHash).toMatch(/^[0-9a-f]{64}$/);
  });

  test("concurrent deletions of one's own account: one succeeds and is audited once, the others not_found", async () => {
    // A few rounds: the first can finish before the pool has opened all its connections.
    for (let round = 0; round < 3; round++) {
      const { user, session } = await signUp(`leaving-twice-${round}@example.com`);
      const { won, lost } = await atOnce(Array.from({ length: 12 }, () => () => auth.users.deleteOwn(session, {})));
      expect(won.length).toBe(1);
      expect(lost).toEqual(Array(11).fill("not_found"));
      const deletions = await queryRows<{ actor: string }>(
        handle.db,
        sql`select actor_id as actor from audit_logs where action = 'user.deleted' and target_id = ${user.id}`,
      );
      expect(deletions).toEqual([{ actor: user.id }]);
      const [row] = await handle.db.select().from(users).where(eq(users.id, user.id));
      expect(row?.status).toBe("deleted");
      expect(row?.deletedAt).not.toBeNull();
    }
  });

  test("a soft delete racing the user's own: one deletion, one audit entry, the other not_found", async () => {
    for (let round = 0; round < 3; round++) {
      const { user, session } = await signUp(`leaving-both-ways-${round}@example.com`);
      const { won, lost } = await atOnce<unknown>([
        () => auth.users.deleteOwn(session, {}),
        () => handle.db.transaction((tx) => auth.users.softDelete(tx, user.id, "system", {})),
      ]);
      expect(won.length).toBe(1);
      expect(lost).toEqual(["not_found"]);
      const deletions = await queryRows<{ count: number | string }>(
        handle.db,
        sql`select count(*) as count from audit_logs where action = 'user.deleted' and target_id = ${user.id}`,
      );
      expect(Number(deletions[0]?.count)).toBe(1);
    }
  });
});
