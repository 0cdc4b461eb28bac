import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { organizationMemberships, roles } from "@burrow/platform-rbac/schema";
import { createTestMailServer } from "@burrow/platform-email/testing";
import {
  BEARER_CLIENT,
  createTestApi,
  ORIGIN,
  readProblem,
  signIn,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

describe("invitations", () => {
  let api: TestApi;
  const mail = createTestMailServer();
  let owner: TestUser;
  let orgId: string;
  beforeAll(async () => {
    api = await createTestApi({}, { mail });
    owner = await signUpUser(api, { name: "Ada Owner" });
    orgId = (
      await (await api.request("/v1/orgs", { method: "POST", headers: owner.bearer, json: { name: "Acme" } })).json()
    ).id;
    // Creating the first test database of a process migrates it: seconds on a busy machine.
  }, 60_000);
  afterAll(() => api.close());

  const invite = (who: TestUser, json: unknown, org = orgId) =>
    api.request(`/v1/orgs/${org}/invitations`, { method: "POST", headers: who.bearer, json });
  const accept = (json: unknown, headers: Record<string, string> = {}) =>
    api.request("/v1/invitations/accept", { method: "POST", headers: { ...BEARER_CLIENT, ...headers }, json });
  const tokenFor = async (to: string) => {
    await api.runJobs();
    return mail.linkTo(to, "/auth/accept-invitation").searchParams.get("token")!;
  };

  test("an invitation is mailed; accepting creates the account and joins with the invited role", async () => {
    const response = await invite(owner, { email: "newbie@example.com", role: "member" });
    expect(response.status).toBe(201);
    expect((await response.json()).status).toBe("pending");
    const token = await tokenFor("newbie@example.com");
    expect(mail.lastTo("newbie@example.com")?.subject).toBe("Ada Owner invited you to Acme on Burrow");
    const joined = await accept({ token, password: "a passphrase of my own" });
    expect(joined.status).toBe(200);
    const body = await joined.json();
    expect(body.orgId).toBe(orgId);
    expect(body.user.emailVerified).toBe(true);
    const mine = await (
      await api.request("/v1/orgs", { headers: { authorization: `Bearer ${body.sessionToken}` } })
    ).json();
    expect(mine.data.map((org: { id: string; role: string }) => [org.id, org.role])).toEqual([[orgId, "member"]]);
    expect((await readProblem(await accept({ token, password: "a passphrase of my own" }))).code).toBe("invalid_link");
    const actions = (await api.platform.db.select().from(auditLogs).where(eq(auditLogs.orgId, orgId))).map(
      (entry) => entry.action,
    );
    expect(actions).toEqual(expect.arrayContaining(["invitation.sent", "invitation.accepted", "member.added"]));
  });

  test("an existing account accepts while signed in with the invited, verified address", async () => {
    const invited = await signUpUser(api, { email: "existing@example.com" });
    const other = await signUpUser(api);
    const sent = await (await invite(owner, { email: "existing@example.com", role: "viewer" })).json();
    // The answer and the list both say which role the invitation grants.
    expect(sent).toMatchObject({ email: "existing@example.com", role: "viewer", status: "pending" });
    const listed = await (await api.request(`/v1/orgs/${orgId}/invitations`, { headers: owner.bearer })).json();
    expect(listed.data.find((invitation: { id: string }) => invitation.id === sent.id)).toMatchObject({
      role: "viewer",
    });
    expect(listed.data.every((invitation: { role?: unknown }) => typeof invitation.role === "string")).toBe(true);
    const token = await tokenFor("existing@example.com");
    // Unverified address: not yet proven.
    expect((await accept({ token }, invited.bearer)).status).toBe(403);
    await api.platform.auth.users.markEmailVerified(api.platform.db, invited.id as never);
    expect((await accept({ token }, other.bearer)).status).toBe(403);
    expect((await accept({ token })).status).toBe(401);
    // The account exists: no second account for the address.
    expect((await readProblem(await accept({ token, password: "another passphrase here" }))).code).toBe(
      "account_exists",
    );
    expect((await accept({ token }, invited.bearer)).status).toBe(200);
    expect(
      (await (await api.request(`/v1/me/permissions?orgId=${orgId}`, { headers: invited.bearer })).json()).role,
    ).toBe("viewer");
    expect((await readProblem(await invite(owner, { email: "existing@example.com", role: "member" }))).code).toBe(
      "already_member",
    );
  });

  test("re-sending replaces the pending invitation; revoked and expired ones are dead", async () => {
    await invite(owner, { email: "twice@example.com", role: "member" });
    const first = await tokenFor("twice@example.com");
    await invite(owner, { email: "twice@example.com", role: "member" });
    const second = await tokenFor("twice@example.com");
    expect((await readProblem(await accept({ token: first, password: "twice over passphrase" }))).code).toBe(
      "invalid_link",
    );
    const list = await (await api.request(`/v1/orgs/${orgId}/invitations`, { headers: owner.bearer })).json();
    const pending = list.data.find(
      (invitation: { email: string; status: string }) =>
        invitation.email === "twice@example.com" && invitation.status === "pending",
    );
    expect(
      (await api.request(`/v1/orgs/${orgId}/invitations/${pending.id}`, { method: "DELETE", headers: owner.bearer }))
        .status,
    ).toBe(204);
    expect((await readProblem(await accept({ token: second, password: "twice over passphrase" }))).code).toBe(
      "invalid_link",
    );

    await invite(owner, { email: "late@example.com", role: "member" });
    const late = await tokenFor("late@example.com");
    api.clock.advance(7 * 86_400_000);
    expect((await readProblem(await accept({ token: late, password: "too late a passphrase" }))).code).toBe(
      "invalid_link",
    );
    // A week idle ended the owner's session too: sign in again for the tests that follow.
    const again = await (await signIn(api, owner.email, owner.password)).json();
    owner = { ...owner, token: again.sessionToken, bearer: { authorization: `Bearer ${again.sessionToken}` } };
  });

  test("only members:invite may invite, never beyond their own role; other organizations' invitations are not found", async () => {
    const member = await signUpUser(api);
    const outsider = await signUpUser(api);
    await invite(owner, { email: member.email, role: "admin" });
    await api.platform.auth.users.markEmailVerified(api.platform.db, member.id as never);
    expect((await accept({ token: await tokenFor(member.email) }, member.bearer)).status).toBe(200);
    // An admin may invite, but not as owner.
    expect((await invite(member, { email: "promoted@example.com", role: "owner" })).status).toBe(403);
    expect((await invite(member, { email: "ok@example.com", role: "viewer" })).status).toBe(201);
    expect((await invite(outsider, { email: "x@example.com", role: "viewer" })).status).toBe(404);
    for (const body of [
      { email: "not-an-email", role: "viewer" },
      { email: "a@example.com", role: "emperor" },
    ]) {
      expect((await invite(owner, body)).status).toBe(400);
    }
    // A foreign orgId in the body is ignored: the invitation belongs to the organization in the path.
    const ignored = await invite(owner, {
      email: "body-org@example.com",
      role: "viewer",
      orgId: "org_01m80w6a2kfrk8cgrdkafx9sz5",
    });
    expect(ignored.status).toBe(201);
    const listed = await (await api.request(`/v1/orgs/${orgId}/invitations`, { headers: owner.bearer })).json();
    expect(listed.data.some((invitation: { email: string }) => invitation.email === "body-org@example.com")).toBe(true);
    const otherOrg = (
      await (
        await api.request("/v1/orgs", { method: "POST", headers: outsider.bearer, json: { name: "Elsewhere" } })
      ).json()
    ).id;
    const theirs = await (await invite(outsider, { email: "theirs@example.com", role: "viewer" }, otherOrg)).json();
    expect(
      (await api.request(`/v1/orgs/${orgId}/invitations/${theirs.id}`, { method: "DELETE", headers: owner.bearer }))
        .status,
    ).toBe(404);
  });

  test("the emailed page creates the account and signs in", async () => {
    await invite(owner, { email: "by-page@example.com", role: "member" });
    const link = (await tokenFor("by-page@example.com"), mail.linkTo("by-page@example.com", "/auth/accept-invitation"));
    const opened = await api.request(`${link.pathname}${link.search}`);
    expect(await opened.text()).toContain("Create my account and join");
    const submitted = await api.request("/auth/accept-invitation", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams({
        token: link.searchParams.get("token")!,
        mode: "create",
        password: "joined through the page",
      }).toString(),
    });
    expect(submitted.status).toBe(200);
    expect(await submitted.text()).toContain("You joined");
    expect(submitted.headers.getSetCookie().join()).toContain("burrow_session=");
  });

  test("invitations are rate-limited per inviter (20, then 1 every 3 minutes) and per organization (50, then 1 a minute)", async () => {
    const [adminRole] = await api.platform.db.select().from(roles).where(eq(roles.key, "admin"));
    const inviters = [await signUpUser(api), await signUpUser(api), await signUpUser(api)];
    const org = (
      await (
        await api.request("/v1/orgs", { method: "POST", headers: inviters[0]!.bearer, json: { name: "Busy" } })
      ).json()
    ).id;
    for (const inviter of inviters.slice(1)) {
      await api.platform.db
        .insert(organizationMemberships)
        .values({ orgId: org, userId: inviter.id, roleId: adminRole!.id, joinedAt: api.clock.now() });
      await api.platform.rbac.resolver.changed(api.platform.db, inviter.id);
    }
    const send = (who: TestUser, n: number) =>
      invite(who, { email: `busy-${who.id}-${n}@example.com`, role: "viewer" }, org);
    for (let n = 0; n < 20; n++) expect((await send(inviters[0]!, n)).status).toBe(201);
    const refused = await send(inviters[0]!, 20);
    expect(refused.status).toBe(429);
    expect((await readProblem(refused)).code).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    // Refused: nothing sent, nothing recorded.
    const pending = await (await api.request(`/v1/orgs/${org}/invitations`, { headers: inviters[0]!.bearer })).json();
    expect(pending.data.length).toBe(20);
    // The organization's own budget: 50 across its inviters.
    for (let n = 0; n < 20; n++) expect((await send(inviters[1]!, n)).status).toBe(201);
    for (let n = 0; n < 10; n++) expect((await send(inviters[2]!, n)).status).toBe(201);
    expect((await readProblem(await send(inviters[2]!, 10))).code).toBe("rate_limited");
    // Tokens come back with time.
    api.clock.advance(3 * 60_000);
    expect((await send(inviters[0]!, 21)).status).toBe(201);
  });
});

describe("invitations under BURROW_MFA_REQUIRED=all", () => {
  let api: TestApi;
  const mail = createTestMailServer();
  let owner: TestUser;
  let orgId: string;
  beforeAll(async () => {
    api = await createTestApi({ BURROW_MFA_REQUIRED: "all" }, { mail });
    owner = await signUpUser(api);
    const enrolment = await (
      await api.request("/v1/mfa/totp/enroll", { method: "POST", headers: owner.bearer, json: {} })
    ).json();
    const code = referenceTotp(enrolment.secret, Math.floor(api.clock.now().getTime() / 1000));
    const confirmed = await api.request("/v1/mfa/totp/confirm", {
      method: "POST",
      headers: owner.bearer,
      json: { factorId: enrolment.factorId, code },
    });
    expect(confirmed.status).toBe(200);
    // Enrolment lifted the policy's restriction, and the session got a new token.
    owner.bearer.authorization = `Bearer ${(await confirmed.json()).sessionToken}`;
    orgId = (
      await (await api.request("/v1/orgs", { method: "POST", headers: owner.bearer, json: { name: "Strict" } })).json()
    ).id;
  }, 60_000);
  afterAll(() => api.close());

  const tokenFor = async (to: string) => {
    await api.runJobs();
    return mail.linkTo(to, "/auth/accept-invitation").searchParams.get("token")!;
  };
  const isMember = async (userId: string) =>
    (
      await api.platform.db.select().from(organizationMemberships).where(eq(organizationMemberships.userId, userId))
    ).some((row) => row.orgId === orgId);

  test("accepting with a new account gives a session restricted to enrolling a second factor", async () => {
    await api.request(`/v1/orgs/${orgId}/invitations`, {
      method: "POST",
      headers: owner.bearer,
      json: { email: "strict-new@example.com", role: "member" },
    });
    const joined = await api.request("/v1/invitations/accept", {
      method: "POST",
      headers: BEARER_CLIENT,
      json: { token: await tokenFor("strict-new@example.com"), password: "a passphrase of my own" },
    });
    expect(joined.status).toBe(200);
    const body = await joined.json();
    expect(body.orgId).toBe(orgId);
    expect(body.session.restricted).toBe(true);
    const restricted = { authorization: `Bearer ${body.sessionToken}` };
    const minted = await api.request("/v1/auth/token", {
      method: "POST",
      headers: restricted,
      json: { grantType: "session" },
    });
    expect(minted.status).toBe(403);
    expect((await readProblem(minted)).code).toBe("mfa_enrolment_required");
    expect(
      (
        await api.request("/v1/api-keys", {
          method: "POST",
          headers: restricted,
          json: { name: "k", scopes: ["profile:read"] },
        })
      ).status,
    ).toBe(403);
  });

  test("a restricted session cannot accept an invitation, on the hosted page or over the API", async () => {
    const invited = await signUpUser(api, { email: "strict-existing@example.com" });
    await api.platform.auth.users.markEmailVerified(api.platform.db, invited.id as never);
    await api.request(`/v1/orgs/${orgId}/invitations`, {
      method: "POST",
      headers: owner.bearer,
      json: { email: invited.email, role: "member" },
    });
    const token = await tokenFor(invited.email);
    const page = await api.request("/auth/accept-invitation", {
      method: "POST",
      headers: { ...invited.bearer, "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams({ token, mode: "join" }).toString(),
    });
    expect(page.status).toBe(403);
    expect(await page.text()).not.toContain("You joined");
    const route = await api.request("/v1/invitations/accept", {
      method: "POST",
      headers: invited.bearer,
      json: { token },
    });
    expect(route.status).toBe(403);
    expect((await readProblem(route)).code).toBe("mfa_enrolment_required");
    expect(await isMember(invited.id)).toBe(false);
  });
});
