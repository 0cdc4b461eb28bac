// Races on an account's addresses: each change fired several times at once finds exactly one winner,
// and every loser a clean PlatformError, never a database error. On PGlite everything runs one query
// at a time, so these pass trivially there; on PostgreSQL (DATABASE_URL) they race for real.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq, sql } from "drizzle-orm";
import type { DatabaseHandle, UserId } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { createTestClock } from "@burrow/platform-core/testing";
import type { Auth } from "../index.ts";
import { userEmails, users } from "../schema.ts";
import type { SessionRow } from "../sessions/sessions.ts";
import { atOnce, createTestAuth, RACERS } from "../test-auth.ts";

const ROUNDS = 5;
const OPERATOR = "usr_operator";

describe("an account's addresses, changed concurrently", () => {
  let handle: DatabaseHandle;
  let auth: Auth;
  const clock = createTestClock();
  let accounts = 0;
  beforeAll(async () => {
    ({ handle, auth } = await createTestAuth({ clock }));
  });
  afterAll(() => handle.close());

  const signUp = async (): Promise<{ userId: UserId; email: string; session: SessionRow }> => {
    const email = `racer${++accounts}@example.com`;
    const result = await auth.signUp({ email, password: "purple submarine garden" }, {});
    if (result.kind !== "signed_in") throw new Error("expected a session");
    // Proven, so removing an added address is never refused as the account's last verified one.
    await auth.users.markEmailVerified(handle.db, result.user.id as UserId);
    return { userId: result.user.id as UserId, email, session: result.session };
  };
  /** An added address, proven by its owner's link. */
  const addVerified = async (session: SessionRow, email: string): Promise<string> => {
    const added = await auth.emails.add(session, email, {});
    await auth.emails.confirm(await linkFor(session.userId as UserId, added.id!), {});
    return added.id!;
  };
  const linkFor = (userId: UserId, emailId: string) =>
    auth.tokens.issueLink(handle.db, { userId, purpose: "email_add", ttlMs: 60_000, target: emailId });

  /** Runs the calls at once: exactly one succeeds; the others' PlatformError codes, sorted. */
  async function race<T>(calls: (() => Promise<T>)[]): Promise<{ winner: number; value: T; losers: string[] }> {
    const { won, winners, lost } = await atOnce(calls);
    expect(winners.length).toBe(1);
    return { winner: winners[0]!, value: won[0]!, losers: lost.sort() };
  }

  const auditCount = async (action: string, emailId: string) => {
    const rows = await handle.db
      .select({ id: auditLogs.id })
      .from(auditLogs)
      .where(and(eq(auditLogs.action, action), sql`${auditLogs.metadata} ->> 'emailId' = ${emailId}`));
    return rows.length;
  };
  const addressesOf = async (userId: string) =>
    (
      await handle.db
        .select({ email: userEmails.emailNormalized, verified: sql<boolean>`${userEmails.verifiedAt} is not null` })
        .from(userEmails)
        .where(eq(userEmails.userId, userId))
    ).map(({ email, verified }) => `${email}${verified ? " (verified)" : ""}`);

  test("the same address added at once: one is added, the others are told it already is", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { userId, session } = await signUp();
      // Five: what the rate limit lets through, so every call reaches the insert.
      const { losers } = await race(
        Array.from({ length: 5 }, () => () => auth.emails.add(session, "twin@example.com", {})),
      );
      expect(losers).toEqual(Array(4).fill("email_already_added"));
      expect(await addressesOf(userId)).toEqual(["twin@example.com"]);
    }
  });

  test("accounts confirming their claims to one address at once: one proves it, the others' links are dead", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const address = `contested${round}@example.com`;
      const claimants = await Promise.all([signUp(), signUp(), signUp()]);
      const links = [];
      for (const { userId, session } of claimants) {
        const added = await auth.emails.add(session, address, {});
        links.push(await linkFor(userId, added.id!));
      }
      const { winner, value, losers } = await race(links.map((link) => () => auth.emails.confirm(link, {})));
      expect(value).toMatchObject({ email: address, verified: true });
      expect(losers).toEqual(["invalid_link", "invalid_link"]);
      // The winner holds it proven; the others' unverified claims are gone.
      for (const [index, { userId }] of claimants.entries())
        expect(await addressesOf(userId)).toEqual(index === winner ? [`${address} (verified)`] : []);
      expect(await auditCount("user.email_verified", value.id!)).toBe(1);
    }
  });

  test("an operator verifying one address on several accounts at once: one holds it, the others' are gone", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const address = `operated${round}@example.com`;
      const claimants = await Promise.all([signUp(), signUp(), signUp()]);
      const claims = [];
      for (const { userId, session } of claimants)
        claims.push({ userId, emailId: (await auth.emails.add(session, address, {})).id! });
      const { winner, value, losers } = await race(
        claims.map(
          ({ userId, emailId }) =>
            () =>
              auth.emails.markVerifiedByOperator(userId, emailId, OPERATOR, {}),
        ),
      );
      expect(value).toMatchObject({ email: address, verified: true });
      expect(losers).toEqual(["not_found", "not_found"]);
      for (const [index, { userId }] of claimants.entries())
        expect(await addressesOf(userId)).toEqual(index === winner ? [`${address} (verified)`] : []);
      expect(await auditCount("user.email_verified", value.id!)).toBe(1);
    }
  });

  test("make-primary and remove of one address at once: one of them happens, the rest find it gone", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { userId, email, session } = await signUp();
      const address = `swapped${round}@example.com`;
      const emailId = await addVerified(session, address);
      const { winner, losers } = await race(
        Array.from(
          { length: RACERS },
          (_, index) => () =>
            index % 2 === 0
              ? auth.emails.makePrimary(session, emailId, {})
              : auth.emails.remove(session, emailId, {}).then(() => null),
        ),
      );
      expect(losers).toEqual(Array(RACERS - 1).fill("not_found"));
      const [user] = await handle.db.select().from(users).where(eq(users.id, userId));
      if (winner % 2 === 0) {
        // Swapped: the chosen address is the account's, the old primary one of its others.
        expect(user!.emailNormalized).toBe(address);
        expect(await addressesOf(userId)).toEqual([`${email} (verified)`]);
        expect(await auditCount("user.primary_email_changed", emailId)).toBe(1);
        expect(await auditCount("user.email_removed", emailId)).toBe(0);
      } else {
        expect(user!.emailNormalized).toBe(email);
        expect(await addressesOf(userId)).toEqual([]);
        expect(await auditCount("user.email_removed", emailId)).toBe(1);
        expect(await auditCount("user.primary_email_changed", emailId)).toBe(0);
      }
    }
  });

  test("make-primary of one address at once: one swap, the others find the address already moved", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { userId, email, session } = await signUp();
      const address = `promoted${round}@example.com`;
      const emailId = await addVerified(session, address);
      const { value, losers } = await race(
        Array.from({ length: RACERS }, () => () => auth.emails.makePrimary(session, emailId, {})),
      );
      expect(value).toMatchObject({ id: null, email: address, primary: true, verified: true });
      expect(losers).toEqual(Array(RACERS - 1).fill("not_found"));
      const [user] = await handle.db.select().from(users).where(eq(users.id, userId));
      expect(user!.emailNormalized).toBe(address);
      expect(await addressesOf(userId)).toEqual([`${email} (verified)`]);
      expect(await auditCount("user.primary_email_changed", emailId)).toBe(1);
    }
  });

  test("an operator removing one address at once: one removal, audited once", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const { userId, session } = await signUp();
      const emailId = (await auth.emails.add(session, `removed${round}@example.com`, {})).id!;
      const { losers } = await race(
        Array.from({ length: RACERS }, () => () => auth.emails.removeByOperator(userId, emailId, OPERATOR, {})),
      );
      expect(losers).toEqual(Array(RACERS - 1).fill("not_found"));
      expect(await addressesOf(userId)).toEqual([]);
      expect(await auditCount("user.email_removed", emailId)).toBe(1);
    }
  });
});
