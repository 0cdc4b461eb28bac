import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq, isNotNull, isNull } from "drizzle-orm";
import type { DatabaseHandle } from "@burrow/platform-core";
import { createTestClock, heldOpen, untilWaiting } from "@burrow/platform-core/testing";
import type { Auth } from "../index.ts";
import { mfaFactors, mfaRecoveryCodes } from "../schema.ts";
import { atOnce, createTestAuth, HASHING_RACE_MS, RACERS, referenceTotp, type TestAuth } from "../test-auth.ts";
import { distinctLookups } from "./factors.ts";

describe("recovery codes", () => {
  test("lookups are drawn until all 10 differ, so a colliding draw never drops a code the user was shown", () => {
    const draws = [
      "aaaa",
      "aaaa",
      "bbbb",
      "aaaa",
      "cccc",
      "dddd",
      "dddd",
      "eeee",
      "ffff",
      "gggg",
      "hhhh",
      "hhhh",
      "jjjj",
      "kkkk",
    ];
    let next = 0;
    const lookups = distinctLookups(10, () => draws[next++]!);
    expect([...lookups]).toEqual(["aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff", "gggg", "hhhh", "jjjj", "kkkk"]);
    expect(next).toBe(draws.length);
  });
});

/** Same-user requests at the same moment (PostgreSQL runs them in parallel; PGlite one after another). */
describe("factors under concurrent requests", () => {
  let testAuth: TestAuth;
  let handle: DatabaseHandle;
  let auth: Auth;
  const clock = createTestClock();

  beforeAll(async () => {
    testAuth = await createTestAuth({ clock });
    ({ handle, auth } = testAuth);
  });
  afterAll(() => handle.close());

  const codeNow = (secret: string) => referenceTotp(secret, Math.floor(clock.now().getTime() / 1000));

  const liveCodes = (userId: string) =>
    handle.db
      .select()
      .from(mfaRecoveryCodes)
      .where(and(eq(mfaRecoveryCodes.userId, userId), isNull(mfaRecoveryCodes.usedAt)));

  /** How many of these sets still work (one code of each is spent to find out). */
  const workingSets = async (userId: string, sets: string[][]): Promise<number> => {
    let working = 0;
    for (const set of sets) if (await auth.factors.useRecoveryCode(handle.db, userId, set.at(-1)!, {})) working++;
    return working;
  };

  test(
    "regenerating recovery codes many times at once leaves exactly one set live, the last one handed out",
    async () => {
      const { userId, session } = await testAuth.newAccount();
      const { factorId, secret } = await auth.factors.enrollTotp(session, "phone", {});
      await auth.factors.confirmTotp(session, factorId, codeNow(secret), {});

      const { won, lost } = await atOnce(
        Array.from({ length: RACERS }, () => () => auth.factors.regenerateRecoveryCodes(session, {})),
      );
      // Each regeneration replaces the one before it; none is refused.
      expect(lost).toEqual([]);
      expect(won.length).toBe(RACERS);
      expect((await liveCodes(userId)).length).toBe(10);
      expect(await workingSets(userId, won)).toBe(1);
    },
    HASHING_RACE_MS,
  );

  test(
    "confirming one factor with one code many times at once: one confirm wins, the rest get 409 factor_already_confirmed",
    async () => {
      const { userId, session } = await testAuth.newAccount();
      const { factorId, secret } = await auth.factors.enrollTotp(session, "phone", {});
      const code = codeNow(secret);

      const { won, lost } = await atOnce(
        Array.from({ length: RACERS }, () => () => auth.factors.confirmTotp(session, factorId, code, {})),
      );
      expect(won.length).toBe(1);
      expect(lost).toEqual(Array.from({ length: RACERS - 1 }, () => "factor_already_confirmed"));
      const [factor] = await handle.db.select().from(mfaFactors).where(eq(mfaFactors.id, factorId));
      expect(factor!.confirmedAt).not.toBeNull();
      // The winner's recovery codes are the one live set.
      expect((await liveCodes(userId)).length).toBe(10);
      expect(await workingSets(userId, [won[0]!.recoveryCodes!])).toBe(1);
      // The step the confirmation used is spent: the same code does not pass as a second factor.
      expect(await auth.factors.verifyTotp(handle.db, userId)(code)).toBe(false);
    },
    HASHING_RACE_MS,
  );

  test(
    "confirming several factors of one user at once: only one of them is the first and hands out recovery codes",
    async () => {
      const { userId, session } = await testAuth.newAccount();
      const enrolled = [];
      for (let index = 0; index < 4; index++)
        enrolled.push(await auth.factors.enrollTotp(session, `phone ${index}`, {}));

      const { won, lost } = await atOnce(
        enrolled.map(
          ({ factorId, secret }) =>
            () =>
              auth.factors.confirmTotp(session, factorId, codeNow(secret), {}),
        ),
      );
      expect(lost).toEqual([]);
      const withCodes = won.filter((answer) => answer.recoveryCodes !== null);
      expect(withCodes.length).toBe(1);
      const confirmedFactors = await handle.db
        .select()
        .from(mfaFactors)
        .where(and(eq(mfaFactors.userId, userId), isNotNull(mfaFactors.confirmedAt)));
      expect(confirmedFactors.length).toBe(4);
      expect((await liveCodes(userId)).length).toBe(10);
      expect(await workingSets(userId, [withCodes[0]!.recoveryCodes!])).toBe(1);
    },
    HASHING_RACE_MS,
  );

  test.skipIf(process.env.DATABASE_URL === undefined)(
    "removing both factors at once drops the recovery codes: the second removal sees the first (PostgreSQL)",
    async () => {
      const { userId, session } = await testAuth.newAccount();
      const factorIds: string[] = [];
      for (const label of ["phone", "tablet"]) {
        const { factorId, secret } = await auth.factors.enrollTotp(session, label, {});
        await auth.factors.confirmTotp(session, factorId, codeNow(secret), {});
        factorIds.push(factorId);
      }
      expect((await liveCodes(userId)).length).toBe(10);
      // Both factors' rows held, so that both removals are under way when they are let go.
      const held = await heldOpen(handle.db, async (tx) => {
        await tx.select({ id: mfaFactors.id }).from(mfaFactors).where(eq(mfaFactors.userId, userId)).for("update");
      });
      const removing = factorIds.map((factorId) => auth.factors.remove(session, factorId, {}));
      expect(await untilWaiting(handle.db, removing)).toBe(2);
      await held.settle(removing);
      // Without the account's lock each removal saw the other's factor left, kept the codes, and the
      // account ended with no factor and ten live recovery codes.
      expect(await handle.db.select().from(mfaFactors).where(eq(mfaFactors.userId, userId))).toEqual([]);
      expect(await liveCodes(userId)).toEqual([]);
    },
    HASHING_RACE_MS,
  );
});
