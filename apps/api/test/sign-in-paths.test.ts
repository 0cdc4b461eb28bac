import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, count, eq } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import { authSessions } from "@burrow/platform-auth/schema";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { createTestMailServer, type TestMailServer } from "@burrow/platform-email/testing";
import { createAuthenticator, type SoftwareAuthenticator } from "./authenticator.ts";
import {
  BEARER_CLIENT,
  createTestApi,
  enrolTotp,
  ORIGIN,
  PASSWORD,
  readProblem,
  reauthenticate,
  signIn,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

/*
 * Every path that ends in a signed-in user, for every kind of account that must not simply be let
 * in: one table, one fresh account per cell. Each path does what it needs while the account is still
 * active (mail sent and read, a passkey registered, a first factor passed); then the account is put
 * in its state; then the path's last request is made and its answer checked against the table.
 */

type Row = "suspended" | "deleted" | "locked" | "MFA-enrolled" | "MFA required, not enrolled";
type PathName =
  | "password"
  | "password grant"
  | "magic link"
  | "email code"
  | "passkey"
  | "MFA verification"
  | "invitation";

type Expected =
  /** A problem answer, no session of any kind; `denial` names the audited `user.sign_in_failed` reason. */
  | { ending: "refused"; status: number; code: string; retryAfter?: true; denial?: string }
  /** `{ mfaRequired, mfaToken }` and no session. */
  | { ending: "mfa_required" }
  /** A full session, with these methods. */
  | { ending: "signed_in"; methods: string[] }
  /** A session that can only enrol a second factor. */
  | { ending: "restricted" }
  /** The password grant answers with tokens, never a session: a restricted session gets none. */
  | { ending: "tokens_refused" }
  | { ending: "not_applicable"; why: string };

const SUSPENDED: Expected = { ending: "refused", status: 403, code: "account_suspended", denial: "suspended" };
const LOCKED: Expected = { ending: "refused", status: 429, code: "too_many_attempts", retryAfter: true };
const unknownAccount = (status: number, code: string): Expected => ({ ending: "refused", status, code });
const MFA_CHALLENGE: Expected = { ending: "mfa_required" };
const RESTRICTED: Expected = { ending: "restricted" };
const NEW_ACCOUNT_ONLY: Expected = {
  ending: "not_applicable",
  why: "a brand-new account cannot be suspended, deleted, locked or enrolled before its first sign-in",
};

const TABLE: Record<Row, Record<PathName, Expected>> = {
  suspended: {
    password: SUSPENDED,
    "password grant": SUSPENDED,
    "magic link": SUSPENDED,
    "email code": SUSPENDED,
    passkey: SUSPENDED,
    "MFA verification": SUSPENDED,
    invitation: NEW_ACCOUNT_ONLY,
  },
  // The answer each path gives an account that does not exist.
  deleted: {
    password: unknownAccount(401, "invalid_credentials"),
    "password grant": unknownAccount(401, "invalid_credentials"),
    "magic link": unknownAccount(400, "invalid_link"),
    "email code": unknownAccount(400, "invalid_code"),
    passkey: unknownAccount(401, "invalid_credentials"),
    "MFA verification": unknownAccount(401, "invalid_credentials"),
    invitation: NEW_ACCOUNT_ONLY,
  },
  locked: {
    password: LOCKED,
    "password grant": LOCKED,
    "magic link": LOCKED,
    "email code": LOCKED,
    passkey: LOCKED,
    "MFA verification": LOCKED,
    invitation: NEW_ACCOUNT_ONLY,
  },
  "MFA-enrolled": {
    password: MFA_CHALLENGE,
    "password grant": MFA_CHALLENGE,
    "magic link": MFA_CHALLENGE,
    "email code": MFA_CHALLENGE,
    // A passkey with user verification is two factors in one.
    passkey: { ending: "signed_in", methods: ["passkey"] },
    "MFA verification": { ending: "signed_in", methods: ["password", "totp"] },
    invitation: NEW_ACCOUNT_ONLY,
  },
  "MFA required, not enrolled": {
    password: RESTRICTED,
    "password grant": { ending: "tokens_refused" },
    "magic link": RESTRICTED,
    "email code": RESTRICTED,
    passkey: {
      ending: "not_applicable",
      why: "registering a passkey enrols a second factor: the account is no longer unenrolled",
    },
    "MFA verification": {
      ending: "not_applicable",
      why: "without a second factor there is no MFA challenge to answer",
    },
    invitation: RESTRICTED,
  },
};

/** An environment: an app, its mail, and (under the MFA policy) an organization that invites. */
interface World {
  api: TestApi;
  mail: TestMailServer;
  inviter?: { bearer: Record<string, string>; orgId: string };
}

interface Account extends TestUser {
  world: World;
  /** The authenticator app's secret, once TOTP is enrolled. */
  totpSecret?: string;
  /** This account's own device: usernameless sign-in picks its passkey. */
  authenticator: SoftwareAuthenticator;
}

const post = (world: World, path: string, json: unknown, headers: Record<string, string> = {}) =>
  world.api.request(path, { method: "POST", json, headers: { ...BEARER_CLIENT, ...headers } });
const totpNow = (world: World, secret: string) =>
  referenceTotp(secret, Math.floor(world.api.clock.now().getTime() / 1000));
const authenticatorFor = (world: World) =>
  createAuthenticator({ origin: world.api.config.publicUrl, rpId: world.api.config.webauthn.rpId });
let emails = 0;
const newEmail = (cell: string) =>
  `${cell.replace(/[^a-z]+/gi, "-").toLowerCase()}-${++emails}-${crypto.randomUUID().slice(0, 6)}@example.com`;

async function withTotp(account: Account): Promise<string> {
  account.totpSecret ??= (await enrolTotp(account.world.api, account)).secret;
  return account.totpSecret;
}

async function registerPasskey(account: Account): Promise<void> {
  const options = await post(account.world, "/v1/passkeys/register/options", {}, account.bearer);
  expect(options.status).toBe(200);
  const ceremony = (await options.json()) as { ceremonyId: string; options: never };
  const response = account.authenticator.register(ceremony.options);
  const added = await post(
    account.world,
    "/v1/passkeys/register/verify",
    { ceremonyId: ceremony.ceremonyId, response, label: "Software authenticator" },
    account.bearer,
  );
  expect(added.status).toBe(200);
}

/** Its last request, once what comes before it is done. `account.id` is empty on the invitation path until it answers. */
type Attempt = () => Promise<Response>;

interface SignInPath {
  /** Creates its own account (the invitation): no account is set up beforehand. */
  createsAccount?: true;
  prepare(account: Account): Promise<Attempt>;
}

const PATHS: Record<PathName, SignInPath> = {
  password: {
    prepare: async (account) => () => signIn(account.world.api, account.email, account.password),
  },
  "password grant": {
    prepare: async (account) => () =>
      post(account.world, "/v1/auth/token", {
        grantType: "password",
        email: account.email,
        password: account.password,
      }),
  },
  "magic link": {
    async prepare(account) {
      expect((await post(account.world, "/v1/auth/magic-link", { email: account.email })).status).toBe(202);
      await account.world.api.runJobs();
      const token = account.world.mail.linkTo(account.email, "/auth/magic-link").searchParams.get("token");
      return () => post(account.world, "/v1/auth/magic-link/verify", { token });
    },
  },
  "email code": {
    async prepare(account) {
      expect((await post(account.world, "/v1/auth/otp/email", { email: account.email })).status).toBe(202);
      await account.world.api.runJobs();
      const code = /\b(\d{6})\b/.exec(account.world.mail.lastTo(account.email)?.text ?? "")?.[1];
      expect(code).toBeDefined();
      return () => post(account.world, "/v1/auth/otp/email/verify", { email: account.email, code });
    },
  },
  passkey: {
    async prepare(account) {
      await registerPasskey(account);
      return async () => {
        const ceremony = (await (await post(account.world, "/v1/auth/passkey/options", {})).json()) as {
          ceremonyId: string;
          options: { allowCredentials?: unknown[] };
        };
        // Usernameless: the options name no account; the authenticator picks its resident passkey.
        expect(ceremony.options.allowCredentials ?? []).toEqual([]);
        const response = account.authenticator.authenticate(ceremony.options as never);
        return post(account.world, "/v1/auth/passkey/verify", { ceremonyId: ceremony.ceremonyId, response });
      };
    },
  },
  "MFA verification": {
    async prepare(account) {
      const secret = await withTotp(account);
      const first = await signIn(account.world.api, account.email, account.password);
      const challenge = (await first.json()) as { mfaRequired?: true; mfaToken: string };
      expect(challenge.mfaRequired).toBe(true);
      // The first factor is passed while the account is active; its state changes before the answer.
      return () =>
        post(account.world, "/v1/auth/mfa/verify", {
          mfaToken: challenge.mfaToken,
          method: "totp",
          code: totpNow(account.world, secret),
        });
    },
  },
  invitation: {
    createsAccount: true,
    async prepare(account) {
      const { inviter } = account.world;
      if (inviter === undefined) throw new Error("this world has no organization to invite to");
      const sent = await post(
        account.world,
        `/v1/orgs/${inviter.orgId}/invitations`,
        { email: account.email, role: "member" },
        inviter.bearer,
      );
      expect(sent.status).toBe(201);
      await account.world.api.runJobs();
      const token = account.world.mail.linkTo(account.email, "/auth/accept-invitation").searchParams.get("token");
      return () => post(account.world, "/v1/invitations/accept", { token, password: account.password });
    },
  },
};

interface AccountKind {
  world(): World;
  /** Set-up while active (beyond signing up). */
  setUp?(account: Account): Promise<void>;
  /** Puts the account in its state, after the path's preparation. */
  apply?(account: Account): Promise<void>;
}

let open: World;
let policy: World;

const KINDS: Record<Row, AccountKind> = {
  suspended: {
    world: () => open,
    // An operator suspends the account (the service the admin tooling calls).
    apply: (account) =>
      account.world.api.platform.auth.users.suspend(account.world.api.platform.db, account.id as never, "system", {}),
  },
  deleted: {
    world: () => open,
    // The user deletes their own account.
    async apply(account) {
      expect((await reauthenticate(account.world.api, account)).status).toBe(200);
      expect((await account.world.api.request("/v1/me", { method: "DELETE", headers: account.bearer })).status).toBe(
        204,
      );
    },
  },
  locked: {
    world: () => open,
    // Wrong passwords up to the lockout policy's count; the last one locks the address.
    async apply(account) {
      const { api } = account.world;
      for (let attempt = 0; attempt < api.config.lockout.count; attempt++)
        expect((await signIn(api, account.email, "not the right password")).status).toBe(401);
    },
  },
  "MFA-enrolled": {
    world: () => open,
    setUp: async (account) => void (await withTotp(account)),
  },
  "MFA required, not enrolled": {
    world: () => policy,
  },
};

async function createAccount(world: World, cell: string, path: SignInPath): Promise<Account> {
  const authenticator = authenticatorFor(world);
  if (path.createsAccount)
    return { world, authenticator, id: "", email: newEmail(cell), password: PASSWORD, token: "", bearer: {} };
  return { world, authenticator, ...(await signUpUser(world.api, { email: newEmail(cell) })) };
}

const sessionsOf = async (world: World, userId: string) =>
  (await world.api.platform.db.select({ n: count() }).from(authSessions).where(eq(authSessions.userId, userId)))[0]!.n;

function noSessionIn(response: Response, body: Record<string, unknown>): void {
  expect(response.headers.getSetCookie().filter((cookie) => cookie.includes("burrow_session="))).toEqual([]);
  expect(body.sessionToken).toBeUndefined();
  expect(body.session).toBeUndefined();
  expect(body.accessToken).toBeUndefined();
  expect(body.refreshToken).toBeUndefined();
}

async function expectEnding(
  expected: Exclude<Expected, { ending: "not_applicable" }>,
  account: Account,
  response: Response,
  sessionsBefore: number,
): Promise<void> {
  const { world } = account;
  switch (expected.ending) {
    case "refused": {
      const problem = await readProblem(response);
      expect({ status: response.status, code: problem.code }).toEqual({ status: expected.status, code: expected.code });
      noSessionIn(response, problem as never);
      expect(await sessionsOf(world, account.id)).toBe(sessionsBefore);
      if (expected.retryAfter) expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
      if (expected.denial !== undefined) {
        const entries = await world.api.platform.db
          .select()
          .from(auditLogs)
          .where(
            and(
              eq(auditLogs.action, "user.sign_in_failed"),
              eq(auditLogs.targetId, account.id),
              eq(auditLogs.outcome, "denied"),
            ),
          );
        expect(entries.map((entry) => (entry.metadata as { reason?: string }).reason)).toContain(expected.denial);
      }
      return;
    }
    case "mfa_required": {
      const body = (await response.json()) as Record<string, unknown>;
      expect(response.status).toBe(200);
      expect(body).toMatchObject({
        mfaRequired: true,
        mfaToken: expect.any(String),
        methods: expect.arrayContaining(["totp"]),
      });
      noSessionIn(response, body);
      expect(await sessionsOf(world, account.id)).toBe(sessionsBefore);
      return;
    }
    case "signed_in":
    case "restricted": {
      const body = (await response.json()) as {
        user?: { id: string };
        session?: { restricted: boolean; authMethods: string[] };
        sessionToken?: string;
      };
      expect({ status: response.status, restricted: body.session?.restricted }).toEqual({
        status: 200,
        restricted: expected.ending === "restricted",
      });
      expect(body.sessionToken).toBeString();
      expect(response.headers.getSetCookie().join("\n")).toContain(`burrow_session=${body.sessionToken}`);
      const bearer = { authorization: `Bearer ${body.sessionToken}` };
      const current = await world.api.request("/v1/auth/session", { headers: bearer });
      expect(current.status).toBe(200);
      if (account.id !== "") expect(((await current.json()) as { user: { id: string } }).user.id).toBe(account.id);
      const me = await world.api.request("/v1/me", { headers: bearer });
      const minted = await post(world, "/v1/auth/token", { grantType: "session" }, bearer);
      if (expected.ending === "signed_in") {
        expect(body.session!.authMethods).toEqual(expected.methods);
        expect([me.status, minted.status]).toEqual([200, 200]);
        return;
      }
      // Restricted: nothing but enrolment (and reading itself).
      expect([me.status, (await readProblem(me)).code]).toEqual([403, "mfa_enrolment_required"]);
      expect([minted.status, (await readProblem(minted)).code]).toEqual([403, "mfa_enrolment_required"]);
      return;
    }
    case "tokens_refused": {
      const problem = await readProblem(response);
      expect({ status: response.status, code: problem.code }).toEqual({ status: 403, code: "mfa_enrolment_required" });
      noSessionIn(response, problem as never);
      // The refusal rolls back: no session is left that nobody holds.
      expect(await sessionsOf(world, account.id)).toBe(sessionsBefore);
      return;
    }
  }
}

const describeEnding = (expected: Expected): string => {
  switch (expected.ending) {
    case "refused":
      return `${expected.status} ${expected.code}`;
    case "mfa_required":
      return "mfa_required, no session";
    case "signed_in":
      return "signed in";
    case "restricted":
      return "restricted session (enrolment only)";
    case "tokens_refused":
      return "403 mfa_enrolment_required, no tokens";
    case "not_applicable":
      return "not applicable";
  }
};

describe("every sign-in path ends the same way for each kind of account", () => {
  const mail = createTestMailServer();

  beforeAll(async () => {
    await mail.start();
    open = { api: await createTestApi({ SMTP_URL: mail.url() }), mail };
    policy = { api: await createTestApi({ SMTP_URL: mail.url(), BURROW_MFA_REQUIRED: "all" }), mail };
    // The passkeys are made for the default PUBLIC_URL: RP ID localhost, origin http://localhost:3000.
    expect([open.api.config.webauthn.rpId, open.api.config.publicUrl]).toEqual(["localhost", ORIGIN]);
    expect(open.api.config.webauthn.origins).toContain(ORIGIN);

    // Under the policy, an inviter must enrol before it may do anything: enrolment lifts the restriction with a new token.
    const owner = await signUpUser(policy.api, { name: "Inviting Owner" });
    const enrolment = (await (await post(policy, "/v1/mfa/totp/enroll", {}, owner.bearer)).json()) as {
      factorId: string;
      secret: string;
    };
    const confirmed = (await (
      await post(
        policy,
        "/v1/mfa/totp/confirm",
        { factorId: enrolment.factorId, code: totpNow(policy, enrolment.secret) },
        owner.bearer,
      )
    ).json()) as { sessionToken: string };
    const bearer = { authorization: `Bearer ${confirmed.sessionToken}` };
    const org = await post(policy, "/v1/orgs", { name: "Policy Org" }, bearer);
    expect(org.status).toBe(201);
    policy.inviter = { bearer, orgId: ((await org.json()) as { id: string }).id };
  }, 60_000);
  afterAll(async () => {
    await open?.api.close();
    await policy?.api.close();
    await mail.stop();
  });

  for (const [row, cells] of Object.entries(TABLE) as [Row, Record<PathName, Expected>][]) {
    for (const [pathName, expected] of Object.entries(cells) as [PathName, Expected][]) {
      // Not applicable cells have no test: there is no such account to sign in (see the table).
      if (expected.ending === "not_applicable") continue;
      const cell = `${row} × ${pathName}`;
      test(`${cell} → ${describeEnding(expected)}`, async () => {
        const kind = KINDS[row];
        const path = PATHS[pathName];
        const account = await createAccount(kind.world(), cell, path);
        await kind.setUp?.(account);
        const attempt = await path.prepare(account);
        await kind.apply?.(account);
        const sessionsBefore = account.id === "" ? 0 : await sessionsOf(account.world, account.id);
        const response = await attempt();
        await expectEnding(expected, account, response, sessionsBefore);
      });
    }
  }
});
