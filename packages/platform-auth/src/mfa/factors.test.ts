import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq, isNotNull, isNull } from "drizzle-orm";
import { newId, PlatformError, type DatabaseHandle, type UserId } from "@burrow/platform-core";
import { createTestClock } from "@burrow/platform-core/testing";
import type { Auth } from "../index.ts";
import { mfaFactors, mfaRecoveryCodes, users } from "../schema.ts";
import type { SessionRow } from "../sessions/sessions.ts";
import { createTestAuth, referenceTotp } from "../test-auth.ts";
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
  // More than the test pool's 5 connections, so on PostgreSQL some wait for a connection mid-race too.
  const PARALLEL = 8;
  // Each call hashes with Argon2id (10 recovery codes, or passwords): slow on a loaded machine.
  const SLOW_MS = 120_000;
  let handle: DatabaseHandle;
  let auth: Auth;
  const clock = createTestClock();
  let counter = 0;

  beforeAll(async () => {
    ({ handle, auth } = await createTestAuth({ clock }));
  });
  afterAll(() => handle.close());

  const codeNow = (secret: string) => referenceTotp(secret, Math.floor(clock.now().getTime() / 1000));

  const newUser = async (): Promise<{ userId: UserId; session: SessionRow }> => {
    const userId = newId("user") as UserId;
    const address = `factors-race-${++counter}@example.com`;
    await handle.db
      .insert(users)
      .values({ id: userId, email: address, emailNormalized: address, createdAt: clock.now(), updatedAt: clock.now() });
    const { session } = await auth.sessions.create(handle.db, { userId, methods: ["password"], request: {} });
    return { userId, session };
  };

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

  /** The answers that succeeded, and the codes of the refusals. */
  const outcomes = <T>(settled: PromiseSettledResult<T>[]) => ({
    won: settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : [])),
    lost: settled.flatMap((result) =>
      result.status === "rejected"
        ? [result.reason instanceof PlatformError ? result.reason.code : String(result.reason)]
        : [],
    ),
  });

  test(
    "regenerating recovery codes many times at once leaves exactly one set live, the last one handed out",
    async () => {
      const { userId, session } = await newUser();
      const { factorId, secret } = await auth.factors.enrollTotp(session, "phone", {});
      await auth.factors.confirmTotp(session, factorId, codeNow(secret), {});

      const settled = await Promise.allSettled(
        Array.from({ length: PARALLEL }, () => auth.factors.regenerateRecoveryCodes(session, {})),
      );
      // Each regeneration replaces the one before it; none is refused.
      const { won, lost } = outcomes(settled);
      expect(lost).toEqual([]);
      expect(won.length).toBe(PARALLEL);
      expect((await liveCodes(userId)).length).toBe(10);
      expect(await workingSets(userId, won)).toBe(1);
    },
    SLOW_MS,
  );

  test(
    "confirming one factor with one code many times at once: one confirm wins, the rest get 409 factor_already_confirmed",
    async () => {
      const { userId, session } = await newUser();
      const { factorId, secret } = await auth.factors.enrollTotp(session, "phone", {});
      const code = codeNow(secret);

      const settled = await Promise.allSettled(
        Array.from({ length: PARALLEL }, () => auth.factors.confirmTotp(session, factorId, code, {})),
      );
      const { won, lost } = outcomes(settled);
      expect(won.length).toBe(1);
      expect(lost).toEqual(Array.from({ length: PARALLEL - 1 }, () => "factor_already_confirmed"));
      const [factor] = await handle.db.select().from(mfaFactors).where(eq(mfaFactors.id, factorId));
      expect(factor!.confirmedAt).not.toBeNull();
      // The winner's recovery codes are the one live set.
      expect((await liveCodes(userId)).length).toBe(10);
      expect(await workingSets(userId, [won[0]!.recoveryCodes!])).toBe(1);
      // The step the confirmation used is spent: the same code does not pass as a second factor.
      expect(await auth.factors.verifyTotp(handle.db, userId)(code)).toBe(false);
    },
    SLOW_MS,
  );

  test(
    "confirming several factors of one user at once: only one of them is the first and hands out recovery codes",
    async () => {
      const { userId, session } = await newUser();
      const enrolled = [];
      for (let index = 0; index < 4; index++)
        enrolled.push(await auth.factors.enrollTotp(session, `phone ${index}`, {}));

      const settled = await Promise.allSettled(
        enrolled.map(({ factorId, secret }) => auth.factors.confirmTotp(session, factorId, codeNow(secret), {})),
      );
      const { won, lost } = outcomes(settled);
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
    SLOW_MS,
  );
});
