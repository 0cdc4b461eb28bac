import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { PlatformError, type DatabaseHandle } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import type { Auth } from "../index.ts";
import { passwordHistory } from "../schema.ts";
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
