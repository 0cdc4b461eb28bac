import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { PlatformError, type DatabaseHandle, type UserId } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import type { Auth } from "../index.ts";
import { passwordHistory } from "../schema.ts";
import type { PreparedPassword } from "./accounts.ts";
import { atOnce, createTestAuth, HASHING_RACE_MS, RACERS, type TestAuth } from "../test-auth.ts";

const PASSWORD = "purple submarine garden";

/** Same-session requests at the same moment (PostgreSQL runs them in parallel; PGlite one after another). */
describe("password change under concurrent requests", () => {
  let testAuth: TestAuth;
  let handle: DatabaseHandle;
  let auth: Auth;

  beforeAll(async () => {
    // Enough lockout slots for every caller, so that all of them reach the change itself.
    testAuth = await createTestAuth({ env: { BURROW_LOCKOUT: "50/15m" } });
    ({ handle, auth } = testAuth);
  });
  afterAll(() => handle.close());

  const signsIn = async (email: string, password: string): Promise<boolean> =>
    auth.signIn({ email, password }, {}).then(
      () => true,
      (error: unknown) => {
        if (error instanceof PlatformError && error.code === "invalid_credentials") return false;
        throw error;
      },
    );

  test(
    "one session changing the password many times at once with the right current password: one change wins, the rest get 401 invalid_credentials",
    async () => {
      const { userId, email, session } = await testAuth.newAccount({ password: PASSWORD });
      const newPasswords = Array.from({ length: RACERS }, (_, index) => `yellow trombone orchard ${index} kiwi`);

      const { winners, lost } = await atOnce(
        newPasswords.map(
          (newPassword) => () => auth.changePassword(session, { currentPassword: PASSWORD, newPassword }, {}),
        ),
      );
      expect(winners.length).toBe(1);
      expect(lost).toEqual(Array.from({ length: RACERS - 1 }, () => "invalid_credentials"));

      // The winner's password is the password; the old one and every loser's are not.
      const winner = newPasswords[winners[0]!]!;
      expect(await signsIn(email, winner)).toBe(true);
      expect(await signsIn(email, PASSWORD)).toBe(false);
      for (const password of newPasswords) if (password !== winner) expect(await signsIn(email, password)).toBe(false);
      // One change happened: the old password went to the history once, and one change was recorded.
      expect((await handle.db.select().from(passwordHistory).where(eq(passwordHistory.userId, userId))).length).toBe(1);
      const changed = await handle.db
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.action, "user.password_changed"), eq(auditLogs.targetId, userId)));
      expect(changed.length).toBe(1);
    },
    HASHING_RACE_MS,
  );
});

describe("prepared passwords", () => {
  let testAuth: TestAuth;
  let handle: DatabaseHandle;
  let auth: Auth;
  beforeAll(async () => {
    testAuth = await createTestAuth();
    ({ handle, auth } = testAuth);
  });
  afterAll(() => handle.close());

  const user = (account: { userId: UserId; email: string }) => ({
    id: account.userId,
    email: account.email,
    name: null,
  });

  test("only one made by preparePassword is stored, and only for the account or address it was checked for", async () => {
    const account = await testAuth.newAccount({ password: PASSWORD });
    const other = await testAuth.newAccount({ password: PASSWORD });
    const forged = {
      hash: "$argon2id$v=19$m=19456,t=2,p=1$forged",
      replaces: undefined,
    } as unknown as PreparedPassword;
    await expect(handle.db.transaction((tx) => auth.setPassword(tx, user(account), forged))).rejects.toThrow(TypeError);
    const prepared = await auth.preparePassword(handle.db, user(account), "yellow trombone orchard kiwi");
    await expect(handle.db.transaction((tx) => auth.setPassword(tx, user(other), prepared))).rejects.toThrow(
      "another account",
    );
    const unborn = await auth.preparePassword(
      handle.db,
      { id: undefined, email: "someone-else@example.com", name: null },
      "yellow trombone orchard kiwi",
    );
    await expect(handle.db.transaction((tx) => auth.setPassword(tx, user(account), unborn))).rejects.toThrow(
      "another account",
    );
    // Neither account's password changed.
    for (const { email } of [account, other])
      expect((await auth.signIn({ email, password: PASSWORD }, {})).kind).toBe("signed_in");
    await handle.db.transaction((tx) => auth.setPassword(tx, user(account), prepared));
    expect((await auth.signIn({ email: account.email, password: "yellow trombone orchard kiwi" }, {})).kind).toBe(
      "signed_in",
    );
  });

  test("a password changed after another was prepared: the prepared one is checked again, then stored", async () => {
    const account = await testAuth.newAccount({ password: PASSWORD });
    const prepared = await auth.preparePassword(handle.db, user(account), "yellow trombone orchard kiwi");
    // Changed meanwhile (as another change, or a sign-in's re-hash, would).
    await auth.setPassword(handle.db, user(account), "violet harmonica lantern fig");
    await handle.db.transaction((tx) => auth.setPassword(tx, user(account), prepared));
    expect((await auth.signIn({ email: account.email, password: "yellow trombone orchard kiwi" }, {})).kind).toBe(
      "signed_in",
    );
    // Checked again against what is stored by then: changed meanwhile to the very password prepared, it is a reuse.
    const reused = await auth.preparePassword(handle.db, user(account), "purple lantern canyon pear");
    await auth.setPassword(handle.db, user(account), "purple lantern canyon pear");
    await expect(handle.db.transaction((tx) => auth.setPassword(tx, user(account), reused))).rejects.toMatchObject({
      code: "password_reused",
    });
  });
});
