// Issue 18, "Concurrency on one-time secrets": every single-use secret is redeemed by 20 requests at
// once, round after round, on PostgreSQL, and exactly one of them wins. PGlite runs one query at a
// time inside one process, so a race there proves nothing: the file is reported as skipped without
// DATABASE_URL. `bun run test:races` runs the full 50 rounds; the ordinary suite runs fewer
// (BURROW_RACE_ROUNDS, 10 by default).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, count, eq, inArray, sql } from "drizzle-orm";
import { queryRows, secretHash } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { heldOpen, untilWaiting } from "@burrow/platform-core/testing";
import { authSessions, mfaFactors, refreshTokens, userEmails, users } from "@burrow/platform-auth/schema";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { organizationMemberships } from "@burrow/platform-rbac/schema";
import {
  BEARER_CLIENT,
  createTestApi,
  enrolTotp,
  ORIGIN,
  post,
  readProblem,
  signIn,
  signUpUser,
  type TestApi,
} from "./helpers.ts";
import { createAuthenticator, type SoftwareAuthenticator } from "./authenticator.ts";
import { APP, Browser, startIdentityProvider, type TestIdentityProvider } from "./oidc.ts";

const ROUNDS = Number(process.env.BURROW_RACE_ROUNDS ?? 10);
const PARALLEL = 20;
/** A test's time limit: what a round may take at most on a slow machine, times the rounds. */
const timeout = (perRoundMs: number) => 30_000 + ROUNDS * perRoundMs;

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

    test(
      "refresh token: one rotation; the others are reuse and answer invalid_token",
      async () => {
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
      },
      timeout(3_000),
    );

    test(
      "password-reset link: one password change",
      async () => {
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
      },
      timeout(3_000),
    );

    test(
      "magic link: one session",
      async () => {
        for (let round = 0; round < ROUNDS; round++) {
          const user = await signUpUser(api);
          expect((await post(api, "/v1/auth/magic-link", { email: user.email })).status).toBe(202);
          const token = await mailedToken(user.email, "/auth/magic-link");

          const { losers } = await race(() => post(api, "/v1/auth/magic-link/verify", { token }));
          expect(new Set(losers)).toEqual(new Set(["invalid_link"]));
          // The sign-up's session and the link's.
          expect(await sessionsOf(user.id)).toBe(2);
        }
      },
      timeout(3_000),
    );

    test(
      "email code: one session; the others are a wrong code or find the attempts used up",
      async () => {
        for (let round = 0; round < ROUNDS; round++) {
          const user = await signUpUser(api);
          expect((await post(api, "/v1/auth/otp/email", { email: user.email })).status).toBe(202);
          const code = /\b(\d{6})\b/.exec(await newestMail(user.email))![1]!;

          const { losers } = await race(() => post(api, "/v1/auth/otp/email/verify", { email: user.email, code }));
          // Attempts reserve a throttle slot first: those past the limit are refused without a check.
          for (const loser of losers) expect(["invalid_code", "too_many_attempts"]).toContain(loser);
          expect(await sessionsOf(user.id)).toBe(2);
        }
      },
      timeout(3_000),
    );

    test(
      "verification link: one verification (a used link is refused like any other, not answered twice)",
      async () => {
        // Verification links keep the earlier ones alive (KEEPS_EARLIER: two mails may arrive in either
        // order), but each one is still used once: verifyEmail redeems it like every other link.
        for (let round = 0; round < ROUNDS; round++) {
          const user = await signUpUser(api);
          expect((await post(api, "/v1/auth/email/verify/resend", { email: user.email })).status).toBe(202);
          const token = await mailedToken(user.email, "/auth/verify-email");

          const { losers } = await race(() => post(api, "/v1/auth/email/verify", { token }));
          expect(new Set(losers)).toEqual(new Set(["invalid_link"]));
          expect(await audited("user.email_verified", user.id)).toBe(1);
        }
      },
      timeout(3_000),
    );

    test(
      "added-address confirmation: one verification",
      async () => {
        for (let round = 0; round < ROUNDS; round++) {
          const user = await signUpUser(api);
          const added = `added-${round}-${crypto.randomUUID().slice(0, 8)}@example.com`;
          expect((await post(api, "/v1/me/emails", { email: added }, user.bearer)).status).toBe(201);
          const token = await mailedToken(added, "/auth/confirm-email");

          const { losers } = await race(() => post(api, "/v1/auth/email/confirm", { token }));
          expect(new Set(losers)).toEqual(new Set(["invalid_link"]));
          expect(await audited("user.email_verified", user.id)).toBe(1);
        }
      },
      timeout(3_000),
    );

    /** An account's deletion held open after its writes: its row (and, when asked, its sessions revoked). */
    const heldDeletion = (userId: string, options: { revokingSessions?: boolean } = {}) =>
      heldOpen(api.platform.db, async (tx) => {
        const now = api.clock.now();
        await tx.update(users).set({ status: "deleted", deletedAt: now, updatedAt: now }).where(eq(users.id, userId));
        if (options.revokingSessions === true)
          await tx.update(authSessions).set({ revokedAt: now }).where(eq(authSessions.userId, userId));
      });
    test(
      "an email change confirmed while a make-primary of that address holds the account: it waits, no deadlock",
      async () => {
        const user = await signUpUser(api);
        const added = `switch-${crypto.randomUUID().slice(0, 8)}@example.com`;
        expect((await post(api, "/v1/me/emails", { email: added }, user.bearer)).status).toBe(201);
        const proof = await mailedToken(added, "/auth/confirm-email");
        expect((await post(api, "/v1/auth/email/confirm", { token: proof })).status).toBe(200);
        expect((await post(api, "/v1/auth/email/change", { newEmail: added }, user.bearer)).status).toBe(202);
        const token = await mailedToken(added, "/auth/confirm-email-change");

        // A make-primary's order, held open: the account's row first, then its added address's row.
        const makePrimary = await heldOpen(
          api.platform.db,
          async (tx) => {
            await tx.select({ id: users.id }).from(users).where(eq(users.id, user.id)).for("update");
          },
          async (tx) => {
            await tx.delete(userEmails).where(and(eq(userEmails.userId, user.id), eq(userEmails.email, added)));
          },
        );
        const confirming = post(api, "/v1/auth/email/change/confirm", { token });
        expect(await untilWaiting(api.platform.db, [confirming])).toBe(1);
        // Before, the confirmation had deleted the address's row and waited for the account: the two
        // waited on each other, and PostgreSQL killed one (40P01).
        const [confirmed] = await makePrimary.settle([confirming]);
        expect(confirmed.status).toBe(200);
        const me = (await (await api.request("/v1/me", { headers: user.bearer })).json()) as { email: string };
        expect(me.email).toBe(added);
      },
      timeout(3_000),
    );

    /** How many live accounts hold an address: as their primary one, or a verified added one. */
    const holdersOf = async (address: string): Promise<number> =>
      (
        await queryRows<{ n: number }>(
          api.platform.db,
          sql`select count(*)::int as n from users where deleted_at is null and (email_normalized = ${address}
            or id in (select user_id from user_emails where email_normalized = ${address} and verified_at is not null))`,
        )
      )[0]!.n;

    test(
      "one address proven by two accounts at once (an email change and an added address): one holds it, the other is refused",
      async () => {
        for (let round = 0; round < Math.max(3, Math.ceil(ROUNDS / 3)); round++) {
          const address = `contested-${round}-${crypto.randomUUID().slice(0, 8)}@example.com`;
          const changing = await signUpUser(api);
          const adding = await signUpUser(api);
          expect((await post(api, "/v1/auth/email/change", { newEmail: address }, changing.bearer)).status).toBe(202);
          const changeToken = await mailedToken(address, "/auth/confirm-email-change");
          expect((await post(api, "/v1/me/emails", { email: address }, adding.bearer)).status).toBe(201);
          const addToken = await mailedToken(address, "/auth/confirm-email");
          // Both accounts' rows held, so that both confirmations are under way when they are let go.
          const held = await heldOpen(api.platform.db, async (tx) => {
            await tx
              .select({ id: users.id })
              .from(users)
              .where(inArray(users.id, [changing.id, adding.id]))
              .for("update");
          });
          const confirming = [
            post(api, "/v1/auth/email/change/confirm", { token: changeToken }),
            post(api, "/v1/auth/email/confirm", { token: addToken }),
          ];
          expect(await untilWaiting(api.platform.db, confirming)).toBe(2);
          const answers = await held.settle(confirming);
          // Before, each locked only its own account, found no one else holding the address, and both
          // succeeded: the address was proven on two accounts.
          expect(answers.filter((answer) => answer.status === 200).length).toBe(1);
          for (const answer of answers)
            if (answer.status !== 200)
              expect(["email_taken", "invalid_link"]).toContain((await readProblem(answer)).code);
          expect(await holdersOf(address)).toBe(1);
        }
      },
      timeout(3_000),
    );

    test(
      "a sign-up with an address another account proves at that moment: the address has one holder",
      async () => {
        const address = `signing-up-${crypto.randomUUID().slice(0, 8)}@example.com`;
        const adding = await signUpUser(api);
        expect((await post(api, "/v1/me/emails", { email: address }, adding.bearer)).status).toBe(201);
        const addToken = await mailedToken(address, "/auth/confirm-email");
        // The proving account's row held: its verification holds the address's lock while it waits.
        const held = await heldOpen(api.platform.db, async (tx) => {
          await tx.select({ id: users.id }).from(users).where(eq(users.id, adding.id)).for("update");
        });
        const both = [
          post(api, "/v1/auth/email/confirm", { token: addToken }),
          post(api, "/v1/auth/sign-up", { email: address, password: "a passphrase of my own" }, BEARER_CLIENT),
        ] as const;
        // Before, the sign-up checked the address, found no holder and made its account beside the proof.
        expect(await untilWaiting(api.platform.db, both)).toBe(2);
        const [confirmed, signedUp] = await held.settle(both);
        expect(confirmed.status).toBe(200);
        expect(signedUp.status).toBe(409);
        expect((await readProblem(signedUp)).code).toBe("email_taken");
        expect(await holdersOf(address)).toBe(1);
      },
      timeout(3_000),
    );

    test(
      "a link or code used while an email change holds its account and revokes its links: it waits, then finds it revoked",
      async () => {
        const uses: Record<string, (user: Awaited<ReturnType<typeof signUpUser>>) => Promise<() => Promise<Response>>> =
          {
            "an added address's link": async (user) => {
              const added = `added-${crypto.randomUUID().slice(0, 8)}@example.com`;
              expect((await post(api, "/v1/me/emails", { email: added }, user.bearer)).status).toBe(201);
              const token = await mailedToken(added, "/auth/confirm-email");
              return () => post(api, "/v1/auth/email/confirm", { token });
            },
            "a password-reset link": async (user) => {
              expect((await post(api, "/v1/auth/password/forgot", { email: user.email })).status).toBe(202);
              const token = await mailedToken(user.email, "/auth/reset-password");
              return () => post(api, "/v1/auth/password/reset", { token, newPassword: "a passphrase of my own" });
            },
            "a magic link": async (user) => {
              expect((await post(api, "/v1/auth/magic-link", { email: user.email })).status).toBe(202);
              const token = await mailedToken(user.email, "/auth/magic-link");
              return () => post(api, "/v1/auth/magic-link/verify", { token });
            },
            "an email code": async (user) => {
              expect((await post(api, "/v1/auth/otp/email", { email: user.email })).status).toBe(202);
              const code = /\b(\d{6})\b/.exec(await newestMail(user.email))![1]!;
              return () => post(api, "/v1/auth/otp/email/verify", { email: user.email, code });
            },
          };
        for (const [name, prepare] of Object.entries(uses)) {
          const user = await signUpUser(api);
          const use = await prepare(user);
          // An email change's confirmation as the service orders it, held open: the account's row, then
          // every link and code mailed to the old address revoked.
          const change = await heldOpen(
            api.platform.db,
            async (tx) => {
              await tx.select({ id: users.id }).from(users).where(eq(users.id, user.id)).for("no key update");
            },
            async (tx) => {
              await queryRows(
                tx,
                sql`update auth_tokens set revoked_at = now() where user_id = ${user.id} and consumed_at is null and revoked_at is null`,
              );
            },
          );
          const using = use();
          expect(await untilWaiting(api.platform.db, [using])).toBe(1);
          // Before, a use took its link's row first: one that then waited for the account (an added
          // address's, a sign-in's) held the row the change waited for, and PostgreSQL killed one of the
          // two (40P01), answered 409 when it was the use; a password reset went through under the change.
          const [answer] = await change.settle([using]);
          expect({ name, status: answer.status }).toEqual({ name, status: 400 });
          expect(["invalid_link", "invalid_code"]).toContain((await readProblem(answer)).code);
        }
      },
      timeout(3_000),
    );

    test(
      "an account being deleted: a key, a factor or a profile change its session asks for at that moment is refused",
      async () => {
        const user = await signUpUser(api);
        // The account's deletion, held open after its write (as `DELETE /v1/me` holds it until its commit).
        const deletion = await heldDeletion(user.id);
        // The session still checks out (the deletion has not committed): each reaches its own write.
        const asked = [
          api.request("/v1/api-keys", {
            method: "POST",
            headers: user.bearer,
            json: { name: "late", scopes: ["profile:read"] },
          }),
          api.request("/v1/mfa/totp/enroll", { method: "POST", headers: user.bearer, json: {} }),
          api.request("/v1/me", { method: "PATCH", headers: user.bearer, json: { name: "Late" } }),
        ];
        expect(await untilWaiting(api.platform.db, asked)).toBe(3);
        const answers = await deletion.settle(asked);
        expect(answers.map((answer) => answer.status)).toEqual([401, 401, 404]);
        const [keys] = await queryRows<{ n: number }>(
          api.platform.db,
          sql`select count(*)::int as n from api_keys where owner_id = ${user.id}`,
        );
        expect(keys!.n).toBe(0);
        const [factors] = await queryRows<{ n: number }>(
          api.platform.db,
          sql`select count(*)::int as n from mfa_factors where user_id = ${user.id}`,
        );
        expect(factors!.n).toBe(0);
      },
      timeout(3_000),
    );

    test(
      "a sign-in completing while its account is being deleted: refused, and no live session left behind",
      async () => {
        const user = await signUpUser(api);
        // The deletion as the service makes it, held open before its commit: the row, then every session revoked.
        const deletion = await heldDeletion(user.id, { revokingSessions: true });
        // Its status check reads the account as active (the deletion has not committed).
        const signingIn = signIn(api, user.email, user.password);
        expect(await untilWaiting(api.platform.db, [signingIn])).toBe(1);
        const [signedIn] = await deletion.settle([signingIn]);
        expect(signedIn.status).toBe(401);
        const [live] = await queryRows<{ n: number }>(
          api.platform.db,
          sql`select count(*)::int as n from auth_sessions where user_id = ${user.id} and revoked_at is null`,
        );
        expect(live!.n).toBe(0);
      },
      timeout(3_000),
    );

    test(
      "MFA token with a TOTP code: one session",
      async () => {
        for (let round = 0; round < ROUNDS; round++) {
          const user = await signUpUser(api);
          const { secret } = await enrolTotp(api, user);
          const { mfaToken } = (await (await signIn(api, user.email, user.password)).json()) as { mfaToken: string };
          const code = referenceTotp(secret, Math.floor(api.clock.now().getTime() / 1000));

          const { losers } = await race(() => post(api, "/v1/auth/mfa/verify", { mfaToken, method: "totp", code }));
          // A loser finds the challenge used or out of tries (invalid_token), the code's step used
          // (invalid_code), or the account's second-factor slots taken (too_many_attempts).
          for (const loser of losers) expect(["invalid_token", "invalid_code", "too_many_attempts"]).toContain(loser);
          expect(await sessionsOf(user.id)).toBe(2);
          api.clock.advance(30_000);
        }
      },
      timeout(3_000),
    );

    test(
      "recovery code: one session, with a challenge of its own for every request",
      async () => {
        for (let round = 0; round < ROUNDS; round++) {
          const user = await signUpUser(api);
          const { recoveryCodes } = await enrolTotp(api, user);
          // Twenty challenges, so that only the recovery code is shared between the racing requests (one
          // after another: parallel sign-ins would meet the account's attempt slots).
          const mfaTokens: string[] = [];
          for (let index = 0; index < PARALLEL; index++) {
            const challenge = await signIn(api, user.email, user.password);
            expect(challenge.status).toBe(200);
            mfaTokens.push(((await challenge.json()) as { mfaToken: string }).mfaToken);
          }
          const code = recoveryCodes[0]!;

          const { losers } = await race((index) =>
            post(api, "/v1/auth/mfa/verify", { mfaToken: mfaTokens[index], method: "recovery_code", code }),
          );
          // A loser finds the code used (invalid_code) or the account's second-factor slots taken
          // by the requests still being checked (too_many_attempts).
          for (const loser of losers) expect(["invalid_code", "too_many_attempts"]).toContain(loser);
          expect(await sessionsOf(user.id)).toBe(2);
        }
      },
      timeout(6_000),
    );

    /** A device of the user's own: a software authenticator for this API's relying party. */
    const newAuthenticator = (): SoftwareAuthenticator =>
      createAuthenticator({ origin: api.config.publicUrl, rpId: api.config.webauthn.rpId });
    const passkeysOf = async (userId: string): Promise<number> =>
      (
        await api.platform.db
          .select({ n: count() })
          .from(mfaFactors)
          .where(and(eq(mfaFactors.userId, userId), eq(mfaFactors.type, "passkey")))
      )[0]!.n;

    test(
      "passkey registration ceremony: one passkey; the others find the ceremony used",
      async () => {
        for (let round = 0; round < ROUNDS; round++) {
          const user = await signUpUser(api);
          const options = await post(api, "/v1/passkeys/register/options", {}, user.bearer);
          expect(options.status).toBe(200);
          const { ceremonyId, options: creation } = (await options.json()) as { ceremonyId: string; options: never };
          // One answer of the authenticator, sent twenty times: only the ceremony decides.
          const response = newAuthenticator().register(creation);

          const { losers } = await race(() =>
            post(api, "/v1/passkeys/register/verify", { ceremonyId, response, label: "Racing" }, user.bearer),
          );
          expect(new Set(losers)).toEqual(new Set(["invalid_token"]));
          expect(await passkeysOf(user.id)).toBe(1);
        }
      },
      // A first factor comes with recovery codes, each hashed with Argon2id: a round is a sign-up and that.
      timeout(6_000),
    );

    test(
      "one passkey registered by two ceremonies at once: one passkey; the others are told it is registered",
      async () => {
        for (let round = 0; round < ROUNDS; round++) {
          const user = await signUpUser(api);
          const ceremony = async () =>
            (await (await post(api, "/v1/passkeys/register/options", {}, user.bearer)).json()) as {
              ceremonyId: string;
              options: { challenge: string };
            };
          const [first, second] = [await ceremony(), await ceremony()];
          const response = newAuthenticator().register(first.options as never);
          // The same credential answering the second ceremony: "none" attestation signs no client data.
          const clientData = JSON.parse(Buffer.from(response.response.clientDataJSON, "base64url").toString());
          const again = {
            ...response,
            response: {
              ...response.response,
              clientDataJSON: Buffer.from(
                JSON.stringify({ ...clientData, challenge: second.options.challenge }),
              ).toString("base64url"),
            },
          };
          const { losers } = await race((index) =>
            post(
              api,
              "/v1/passkeys/register/verify",
              index % 2 === 0
                ? { ceremonyId: first.ceremonyId, response, label: "Racing" }
                : { ceremonyId: second.ceremonyId, response: again, label: "Racing" },
              user.bearer,
            ),
          );
          for (const code of losers) expect(["invalid_token", "passkey_already_registered"]).toContain(code);
          expect(await passkeysOf(user.id)).toBe(1);
        }
      },
      timeout(6_000),
    );

    /** A new user with a passkey on a device of their own. */
    const userWithPasskey = async () => {
      const user = await signUpUser(api);
      const authenticator = newAuthenticator();
      const options = (await (await post(api, "/v1/passkeys/register/options", {}, user.bearer)).json()) as {
        ceremonyId: string;
        options: never;
      };
      const registered = await post(
        api,
        "/v1/passkeys/register/verify",
        { ceremonyId: options.ceremonyId, response: authenticator.register(options.options), label: "Racing" },
        user.bearer,
      );
      expect(registered.status).toBe(200);
      return { user, authenticator };
    };

    test(
      "passkey sign-in ceremony: one session; the others find the ceremony used",
      async () => {
        const { user, authenticator } = await userWithPasskey();
        for (let round = 0; round < ROUNDS; round++) {
          const before = await sessionsOf(user.id);
          const ceremony = (await (await post(api, "/v1/auth/passkey/options", {})).json()) as {
            ceremonyId: string;
            options: never;
          };
          // One signed assertion (one signature counter value), sent twenty times.
          const response = authenticator.authenticate(ceremony.options);

          const { losers } = await race(() =>
            post(api, "/v1/auth/passkey/verify", { ceremonyId: ceremony.ceremonyId, response }, BEARER_CLIENT),
          );
          expect(new Set(losers)).toEqual(new Set(["invalid_token"]));
          expect(await sessionsOf(user.id)).toBe(before + 1);
        }
      },
      timeout(3_000),
    );

    test(
      "passkey as a second factor: one session; the others find the ceremony or the challenge used",
      async () => {
        const { user, authenticator } = await userWithPasskey();
        for (let round = 0; round < ROUNDS; round++) {
          const before = await sessionsOf(user.id);
          const first = await signIn(api, user.email, user.password);
          const { mfaToken } = (await first.json()) as { mfaToken: string };
          expect(mfaToken).toBeString();
          const ceremony = (await (await post(api, "/v1/auth/mfa/passkey/options", { mfaToken })).json()) as {
            ceremonyId: string;
            options: never;
          };
          const response = authenticator.authenticate(ceremony.options);

          const { losers } = await race(() =>
            post(
              api,
              "/v1/auth/mfa/verify",
              { mfaToken, method: "passkey", assertion: { ceremonyId: ceremony.ceremonyId, response } },
              BEARER_CLIENT,
            ),
          );
          // A loser finds the ceremony used, or the MFA challenge used or out of tries (invalid_token), or the
          // account's second-factor slots taken (too_many_attempts).
          for (const loser of losers) expect(["invalid_token", "invalid_code", "too_many_attempts"]).toContain(loser);
          expect(await sessionsOf(user.id)).toBe(before + 1);
        }
      },
      timeout(3_000),
    );

    test(
      "invitation: one account, one membership",
      async () => {
        for (let round = 0; round < ROUNDS; round++) {
          // An inviter of its own each round: one may send 20 invitations in three minutes.
          const owner = await signUpUser(api);
          const orgId = (
            (await (await post(api, "/v1/orgs", { name: `Racing ${round}` }, owner.bearer)).json()) as { id: string }
          ).id;
          const email = `invited-${round}-${crypto.randomUUID().slice(0, 8)}@example.com`;
          const invited = await post(api, `/v1/orgs/${orgId}/invitations`, { email, role: "member" }, owner.bearer);
          expect(invited.status).toBe(201);
          const token = await mailedToken(email, "/auth/accept-invitation");

          // Each request would create the invited account: before the invitation row was locked, the
          // losers' inserts met the unique address index and answered 500.
          const { losers } = await race((index) =>
            post(
              api,
              "/v1/invitations/accept",
              { token, password: `my own passphrase number ${index}` },
              BEARER_CLIENT,
            ),
          );
          expect(new Set(losers)).toEqual(new Set(["invalid_link"]));
          const members = await api.platform.db
            .select({ n: count() })
            .from(organizationMemberships)
            .where(eq(organizationMemberships.orgId, orgId));
          expect(members[0]!.n).toBe(2);
          const accounts = await api.platform.db.select({ n: count() }).from(users).where(eq(users.email, email));
          expect(accounts[0]!.n).toBe(1);
        }
      },
      timeout(3_000),
    );
  },
);

describe.skipIf(process.env.DATABASE_URL === undefined)(
  `OAuth states and exchange codes raced by ${PARALLEL} parallel redemptions, ${ROUNDS} rounds (PostgreSQL)`,
  () => {
    let api: TestApi;
    let idp: TestIdentityProvider;
    beforeAll(async () => {
      idp = await startIdentityProvider({ redirectUris: [`${ORIGIN}/v1/auth/oauth/idp/callback`] });
      api = await createTestApi({
        // A native or single-page app's origin: its flows end there with a one-time exchange code.
        BURROW_REDIRECT_ORIGINS: APP,
        BURROW_OAUTH_PROVIDERS: JSON.stringify([
          { id: "idp", type: "oidc", issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret },
        ]),
      });
      // The provider stamps its tokens with real time; Burrow's checks use the test clock, from now.
      api.clock.set(new Date());
    }, 60_000);
    afterAll(async () => {
      await api.close();
      await idp.close();
    });

    /** A new verified account at the provider, the one its next login signs in as; its address. */
    const nextProviderLogin = (prefix: string, name: string): string => {
      const subject = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
      const email = `${subject}@example.com`;
      idp.accounts.set(subject, { email, email_verified: true, name });
      idp.nextLogin = subject;
      return email;
    };

    test(
      "one callback signs in: one account, one session; the others are refused with invalid_oauth_state",
      async () => {
        for (let round = 0; round < ROUNDS; round++) {
          const email = nextProviderLogin(`racer-${round}`, "Ada Racing");
          const browser = new Browser(api, ORIGIN);
          // Through the provider, stopping where it sends the browser back: the callback, unvisited.
          const { response, url } = await browser.navigate(`${ORIGIN}/v1/auth/oauth/idp/start`, {
            stopAt: (next) => next.pathname.endsWith("/callback"),
          });
          const callback = new URL(response.headers.get("location")!, url).toString();

          // The same browser (its state cookie) returns twenty times at once.
          const responses = await Promise.all(Array.from({ length: PARALLEL }, () => browser.fetch(callback)));
          const statuses = responses.map((answer) => answer.status);
          expect(statuses.filter((status) => status >= 500)).toEqual([]);
          const winners = statuses.filter((status) => status < 400);
          expect(winners.length).toBe(1);
          for (const answer of responses) {
            if (answer.status < 400) continue;
            expect(answer.status).toBe(400);
            expect(/Error code: <code>([a-z_]+)<\/code>/.exec(await answer.text())?.[1]).toBe("invalid_oauth_state");
          }
          const [account] = await api.platform.db.select().from(users).where(eq(users.email, email));
          expect(account).toBeDefined();
          expect((await api.platform.db.select({ n: count() }).from(users).where(eq(users.email, email)))[0]!.n).toBe(
            1,
          );
          expect(
            (
              await api.platform.db
                .select({ n: count() })
                .from(authSessions)
                .where(eq(authSessions.userId, account!.id))
            )[0]!.n,
          ).toBe(1);
        }
      },
      timeout(3_000),
    );

    test(
      "an app's one-time exchange code: one session; the others are refused with invalid_oauth_state",
      async () => {
        for (let round = 0; round < ROUNDS; round++) {
          const email = nextProviderLogin(`exchanger-${round}`, "Ada Exchanging");
          // The app's PKCE pair: the challenge goes with the start, the verifier with the exchange.
          const verifier = crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
          const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
          const codeChallenge = Buffer.from(digest).toString("base64url");
          const redirectTo = encodeURIComponent(`${APP}/native`);
          const { response } = await new Browser(api, ORIGIN).navigate(
            `${ORIGIN}/v1/auth/oauth/idp/start?redirectTo=${redirectTo}&codeChallenge=${codeChallenge}`,
            { stopAt: (next) => next.origin === APP },
          );
          const code = new URL(response.headers.get("location")!).searchParams.get("code");
          expect(code).not.toBeNull();

          const { won, losers } = await race(() =>
            post(api, "/v1/auth/oauth/exchange", { code, codeVerifier: verifier }, BEARER_CLIENT),
          );
          expect(new Set(losers)).toEqual(new Set(["invalid_oauth_state"]));
          const { user } = (await won.json()) as { user: { id: string } };
          expect((await api.platform.db.select({ n: count() }).from(users).where(eq(users.email, email)))[0]!.n).toBe(
            1,
          );
          // The callback started no session (the browser is the app's, not Burrow's): the exchange's only.
          expect(
            (
              await api.platform.db.select({ n: count() }).from(authSessions).where(eq(authSessions.userId, user.id))
            )[0]!.n,
          ).toBe(1);
        }
      },
      timeout(3_000),
    );
  },
);
