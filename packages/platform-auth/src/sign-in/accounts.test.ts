import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { newId, PlatformError, type DatabaseHandle, type UserId } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { createTestClock } from "@burrow/platform-core/testing";
import type { Auth } from "../index.ts";
import { passwordHistory, users } from "../schema.ts";
import { createTestAuth } from "../test-auth.ts";

const PASSWORD = "purple submarine garden";

/** Same-session requests at the same moment (PostgreSQL runs them in parallel; PGlite one after another). */
describe("password change under concurrent requests", () => {
  // More than the test pool's 5 connections, so on PostgreSQL some wait for a connection mid-race too.
  const PARALLEL = 8;
  // Each call hashes with Argon2id (10 recovery codes, or passwords): slow on a loaded machine.
  const SLOW_MS = 120_000;
  let handle: DatabaseHandle;
  let auth: Auth;
  const clock = createTestClock();
  let counter = 0;

  beforeAll(async () => {
    // Enough lockout slots for every caller, so that all of them reach the change itself.
    ({ handle, auth } = await createTestAuth({ clock, env: { BURROW_LOCKOUT: "50/15m" } }));
  });
  afterAll(() => handle.close());

  const newUser = async () => {
    const userId = newId("user") as UserId;
    const email = `password-race-${++counter}@example.com`;
    await handle.db
      .insert(users)
      .values({ id: userId, email, emailNormalized: email, createdAt: clock.now(), updatedAt: clock.now() });
    await auth.setPassword(handle.db, { id: userId, email, name: null }, PASSWORD);
    const { session } = await auth.sessions.create(handle.db, { userId, methods: ["password"], request: {} });
    return { userId, email, session };
  };

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
      const { userId, email, session } = await newUser();
      const newPasswords = Array.from({ length: PARALLEL }, (_, index) => `yellow trombone orchard ${index} kiwi`);

      const settled = await Promise.allSettled(
        newPasswords.map((newPassword) => auth.changePassword(session, { currentPassword: PASSWORD, newPassword }, {})),
      );
      const winners = settled.flatMap((result, index) => (result.status === "fulfilled" ? [index] : []));
      expect(winners.length).toBe(1);
      const losers = settled.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
      expect(losers.length).toBe(PARALLEL - 1);
      for (const loser of losers) expect(loser).toMatchObject({ code: "invalid_credentials", status: 401 });

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
    SLOW_MS,
  );
});
