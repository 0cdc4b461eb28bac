// Issue 18, "Concurrency on one-time secrets": every single-use secret is redeemed by 20 requests at
// once, round after round, on PostgreSQL, and exactly one of them wins. PGlite runs one query at a
// time inside one process, so a race there proves nothing: the file is reported as skipped without
// DATABASE_URL. `bun run test:races` runs the full 50 rounds; the ordinary suite runs fewer
// (BURROW_RACE_ROUNDS, 10 by default).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, count, eq } from "drizzle-orm";
import { secretHash } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { authSessions, refreshTokens } from "@burrow/platform-auth/schema";
import { createTestApi, post, readProblem, signIn, signUpUser, type TestApi } from "./helpers.ts";

const ROUNDS = Number(process.env.BURROW_RACE_ROUNDS ?? 10);
const PARALLEL = 20;

interface RaceOutcome {
  /** The index of the one request that succeeded, and its response. */
  winner: number;
  won: Response;
  /** The codes of the problems the others were answered with. */
  losers: string[];
}

/** Fires `PARALLEL` requests at once; exactly one is a 2xx and every other a clean 4xx problem. */
async function race(fire: (index: number) => Promise<Response>): Promise<RaceOutcome> {
  const responses = await Promise.all(Array.from({ length: PARALLEL }, (_, index) => fire(index)));
  const statuses = responses.map((response) => response.status);
  const winners = statuses.flatMap((status, index) => (status >= 200 && status < 300 ? [index] : []));
  expect(statuses.filter((status) => status >= 500)).toEqual([]);
  expect(winners.length).toBe(1);
  const winner = winners[0]!;
  const losers: string[] = [];
  for (const [index, response] of responses.entries()) {
    if (index === winner) continue;
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    losers.push((await readProblem(response)).code);
  }
  return { winner, won: responses[winner]!, losers };
}

describe.skipIf(process.env.DATABASE_URL === undefined)(
  `one-time secrets raced by ${PARALLEL} parallel redemptions, ${ROUNDS} rounds (PostgreSQL)`,
  () => {
    let api: TestApi;
    beforeAll(async () => {
      // No grace window: a refresh token presented after its rotation is reuse, never a second success.
      api = await createTestApi({ BURROW_REFRESH_GRACE: "0" });
    }, 60_000);
    afterAll(() => api.close());

    /** The text of the newest mail to `to` (the development outbox: no SMTP is configured). */
    const newestMail = async (to: string): Promise<string> => {
      await api.runJobs();
      const [message] = await api.platform.email.outbox.list(api.platform.db, { to });
      expect(message).toBeDefined();
      return (await api.platform.email.outbox.get(api.platform.db, message!.id))!.text;
    };
    /** The token of the link to `path` in the newest mail to `to`. */
    const mailedToken = async (to: string, path: string): Promise<string> => {
      const text = await newestMail(to);
      const link = new RegExp(`https?://\\S+${path}\\?token=[A-Za-z0-9_-]+`).exec(text);
      expect(link).not.toBeNull();
      return new URL(link![0]).searchParams.get("token")!;
    };
    const audited = async (action: string, userId: string): Promise<number> =>
      (
        await api.platform.db
          .select({ n: count() })
          .from(auditLogs)
          .where(and(eq(auditLogs.action, action), eq(auditLogs.targetId, userId)))
      )[0]!.n;
    const sessionsOf = async (userId: string): Promise<number> =>
      (await api.platform.db.select({ n: count() }).from(authSessions).where(eq(authSessions.userId, userId)))[0]!.n;

    test("refresh token: one rotation; the others are reuse and answer invalid_token", async () => {
      const user = await signUpUser(api);
      for (let round = 0; round < ROUNDS; round++) {
        const grant = await post(api, "/v1/auth/token", {
          grantType: "password",
          email: user.email,
          password: user.password,
        });
        expect(grant.status).toBe(200);
        const { refreshToken } = (await grant.json()) as { refreshToken: string };
        const [{ familyId }] = (await api.platform.db
          .select({ familyId: refreshTokens.familyId })
          .from(refreshTokens)
          .where(eq(refreshTokens.tokenHash, secretHash(refreshToken)!))) as [{ familyId: string }];

        const { won, losers } = await race(() =>
          post(api, "/v1/auth/token", { grantType: "refresh_token", refreshToken }),
        );
        expect(((await won.json()) as { refreshToken: string }).refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(new Set(losers)).toEqual(new Set(["invalid_token"]));
        // One successor only: the token first issued and the one rotation's.
        const tokens = await api.platform.db
          .select({ n: count() })
          .from(refreshTokens)
          .where(eq(refreshTokens.familyId, familyId));
        expect(tokens[0]!.n).toBe(2);
      }
    }, 120_000);

    test("password-reset link: one password change", async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const user = await signUpUser(api);
        expect((await post(api, "/v1/auth/password/forgot", { email: user.email })).status).toBe(202);
        const token = await mailedToken(user.email, "/auth/reset-password");

        const { winner, losers } = await race((index) =>
          post(api, "/v1/auth/password/reset", { token, newPassword: `racing passphrase number ${index}` }),
        );
        expect(new Set(losers)).toEqual(new Set(["invalid_link"]));
        expect(await audited("user.password_reset", user.id)).toBe(1);
        // The password is the winner's.
        expect((await signIn(api, user.email, `racing passphrase number ${winner}`)).status).toBe(200);
      }
    }, 120_000);

    test("magic link: one session", async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const user = await signUpUser(api);
        expect((await post(api, "/v1/auth/magic-link", { email: user.email })).status).toBe(202);
        const token = await mailedToken(user.email, "/auth/magic-link");

        const { losers } = await race(() => post(api, "/v1/auth/magic-link/verify", { token }));
        expect(new Set(losers)).toEqual(new Set(["invalid_link"]));
        // The sign-up's session and the link's.
        expect(await sessionsOf(user.id)).toBe(2);
      }
    }, 120_000);

    test("email code: one session; the others are a wrong code or find the attempts used up", async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const user = await signUpUser(api);
        expect((await post(api, "/v1/auth/otp/email", { email: user.email })).status).toBe(202);
        const code = /\b(\d{6})\b/.exec(await newestMail(user.email))![1]!;

        const { losers } = await race(() => post(api, "/v1/auth/otp/email/verify", { email: user.email, code }));
        // Attempts reserve a throttle slot first: those past the limit are refused without a check.
        for (const loser of losers) expect(["invalid_code", "too_many_attempts"]).toContain(loser);
        expect(await sessionsOf(user.id)).toBe(2);
      }
    }, 120_000);
  },
);
