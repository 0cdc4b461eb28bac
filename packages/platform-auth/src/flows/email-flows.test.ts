// A password given through a mailed link (a reset's or an account's set-up's new one, the one shown
// with an address's first proof) is checked and hashed before anything is locked: Argon2id takes tens
// of milliseconds, and a sign-in or any change to the account would wait for it. PostgreSQL only: PGlite runs one query at a time, so nothing waits there.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { DatabaseHandle, UserId } from "@burrow/platform-core";
import { heldOpen, untilWaiting } from "@burrow/platform-core/testing";
import type { Auth } from "../index.ts";
import type { TokenPurpose } from "../schema.ts";
import { countingHasher, createTestAuth, type TestAuth } from "../test-auth.ts";
import { lockUser } from "../users/users.ts";

describe.skipIf(process.env.DATABASE_URL === undefined)(
  "a password given through a link is hashed or verified before its account is locked (PostgreSQL)",
  () => {
    const hasher = countingHasher();
    let testAuth: TestAuth;
    let handle: DatabaseHandle;
    let auth: Auth;
    beforeAll(async () => {
      testAuth = await createTestAuth({ hasher });
      ({ handle, auth } = testAuth);
    });
    afterAll(() => handle.close());

    const flows: Record<string, { purpose: TokenPurpose; use: (token: string) => Promise<void> }> = {
      "a password reset": {
        purpose: "password_reset",
        use: (token) => auth.flows.resetPassword(token, "a brand new passphrase", {}),
      },
      "an account's set-up": {
        purpose: "account_setup",
        use: (token) => auth.flows.completeAccountSetup(token, "a brand new passphrase", {}),
      },
    };
    for (const [name, { purpose, use }] of Object.entries(flows))
      test(`${name}: it waits for the account with the password hashed, then stores it`, async () => {
        const { userId } = await testAuth.newAccount();
        const token = await auth.tokens.issueLink(handle.db, { userId, purpose, ttlMs: 60_000 });
        const before = hasher.hashes;
        // A change to the account (a sign-in's, a profile's), held open at the account's lock.
        const change = await heldOpen(handle.db, async (tx) => {
          await lockUser(tx, userId);
        });
        const using = use(token);
        expect(await untilWaiting(handle.db, [using])).toBe(1);
        // It waits for the account (the link is used under its lock) with the password hashed; with
        // the hash after the link's use, it would wait here with nothing hashed.
        expect(hasher.hashes - before).toBe(1);
        await change.settle([using]);
        expect(await auth.passwordHash(handle.db, userId as UserId)).toStartWith("$argon2id$");
      });

    test("an address's first proof with the account's password: verified before the wait, and the password kept", async () => {
      const password = "purple submarine garden";
      const { userId } = await testAuth.newAccount({ password });
      const token = await auth.tokens.issueLink(handle.db, { userId, purpose: "verify_email", ttlMs: 60_000 });
      const before = hasher.verifies;
      const change = await heldOpen(handle.db, async (tx) => {
        await lockUser(tx, userId);
      });
      const verifying = auth.flows.verifyEmail(token, {}, { password });
      expect(await untilWaiting(handle.db, [verifying])).toBe(1);
      // It waits for the account with the password verified; verified after the link's use, nothing
      // would be verified yet here.
      expect(hasher.verifies - before).toBe(1);
      const [verified] = await change.settle([verifying]);
      expect(verified.emailVerifiedAt).not.toBeNull();
      // Shown by the confirmer, so the first proof kept it: it still signs in.
      expect((await auth.signIn({ email: verified.email, password }, {})).kind).toBe("signed_in");
    });
  },
);
