import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { newId } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { users } from "@burrow/platform-auth/schema";
import {
  createTestApi,
  grantPlatformPermissions,
  PASSWORD,
  post,
  readProblem,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

interface AccountEmail {
  id: string | null;
  email: string;
  primary: boolean;
  verified: boolean;
}

describe("several email addresses per account", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  const list = async (user: TestUser): Promise<AccountEmail[]> => {
    const response = await api.request("/v1/me/emails", { headers: user.bearer });
    expect(response.status).toBe(200);
    return ((await response.json()) as { data: AccountEmail[] }).data;
  };
  const add = (user: TestUser, email: string) => post(api, "/v1/me/emails", { email }, user.bearer);
  const mailTo = async (address: string) => {
    const messages = await api.platform.email.outbox.list(api.platform.db, { to: address });
    return Promise.all(
      messages.map(async (message) => (await api.platform.email.outbox.get(api.platform.db, message.id))!),
    );
  };
  /** The confirmation link mailed to `address`, as the hosted page's token. */
  const confirmationToken = async (address: string): Promise<string> => {
    const mail = (await mailTo(address)).find((message) => message.text.includes("/auth/confirm-email?token="));
    return new URL(/http\S+\/auth\/confirm-email\?token=\S+/.exec(mail!.text)![0]).searchParams.get("token")!;
  };
  const addAndConfirm = async (user: TestUser, email: string): Promise<AccountEmail> => {
    expect((await add(user, email)).status).toBe(201);
    const confirmed = await post(api, "/v1/auth/email/confirm", { token: await confirmationToken(email) });
    expect(confirmed.status).toBe(200);
    return (await confirmed.json()) as AccountEmail;
  };
  const signInStatus = async (email: string) =>
    (await post(api, "/v1/auth/sign-in", { email, password: PASSWORD })).status;

  test("add: the new address is mailed a link, the primary a notice; confirmed, it signs in", async () => {
    const user = await signUpUser(api);
    const response = await add(user, "  Work.Ada@Example.com ");
    expect(response.status).toBe(201);
    const added = (await response.json()) as AccountEmail;
    expect(added).toMatchObject({ email: "Work.Ada@Example.com", primary: false, verified: false });
    expect((await mailTo(user.email)).map((message) => message.subject)).toContain(
      "An email address was added to your account",
    );
    // Unverified, the address signs no one in: answered as an unknown one.
    expect(await signInStatus("work.ada@example.com")).toBe(401);

    const token = await confirmationToken("Work.Ada@Example.com");
    const page = await api.request(`/auth/confirm-email?token=${token}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('action="confirm-email"');
    const confirmed = await post(api, "/v1/auth/email/confirm", { token });
    expect(confirmed.status).toBe(200);
    expect(((await confirmed.json()) as AccountEmail).verified).toBe(true);
    // Once: the link is spent.
    expect((await readProblem(await post(api, "/v1/auth/email/confirm", { token }))).code).toBe("invalid_link");

    expect((await list(user)).map(({ email, primary, verified }) => ({ email, primary, verified }))).toEqual([
      { email: user.email, primary: true, verified: expect.any(Boolean) },
      { email: "Work.Ada@Example.com", primary: false, verified: true },
    ]);
    expect(await signInStatus("WORK.ada@example.com")).toBe(200);
    // Mail for the account still goes to the primary address.
    expect((await post(api, "/v1/auth/password/forgot", { email: "work.ada@example.com" })).status).toBe(202);
    await api.runJobs();
    expect((await mailTo(user.email)).some((message) => message.subject.includes("Reset"))).toBe(true);
    expect((await mailTo("Work.Ada@Example.com")).some((message) => message.subject.includes("Reset"))).toBe(false);
    // So does a magic link or a code asked for by the other address.
    const before = (await mailTo(user.email)).length;
    expect((await post(api, "/v1/auth/magic-link", { email: "work.ada@example.com" })).status).toBe(202);
    expect((await post(api, "/v1/auth/otp/email", { email: "work.ada@example.com" })).status).toBe(202);
    await api.runJobs();
    expect((await mailTo(user.email)).length).toBe(before + 2);
    expect((await mailTo("Work.Ada@Example.com")).length).toBe(1);
  });

  test("make primary: tokens and the session show the new address, both addresses are told, it is audited", async () => {
    const user = await signUpUser(api);
    // A proven primary address (this suite runs with verification off, which proves nothing).
    await api.platform.db.update(users).set({ emailVerifiedAt: new Date() }).where(eq(users.id, user.id));
    const other = await addAndConfirm(user, `second-${user.id}@example.com`);
    const response = await post(api, `/v1/me/emails/${other.id}/primary`, {}, user.bearer);
    expect(response.status).toBe(200);
    const session = (await (await api.request("/v1/auth/session", { headers: user.bearer })).json()) as {
      user: { email: string };
    };
    expect(session.user.email).toBe(other.email);
    const addresses = await list(user);
    expect(addresses[0]).toMatchObject({ email: other.email, primary: true, verified: true, id: null });
    expect(addresses.slice(1).map((address) => address.email)).toEqual([user.email]);
    for (const address of [user.email, other.email])
      expect((await mailTo(address)).map((message) => message.subject)).toContain("Your primary email address changed");
    const entries = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "user.primary_email_changed"), eq(auditLogs.targetId, user.id)));
    expect(entries).toHaveLength(1);
    // The old primary address still signs in, as another verified one.
    expect(await signInStatus(user.email)).toBe(200);
  });

  test("remove: an added address goes; the primary cannot be named; the last verified one stays", async () => {
    const user = await signUpUser(api);
    const extra = (await (await add(user, `extra-${user.id}@example.com`)).json()) as AccountEmail;
    expect((await api.request(`/v1/me/emails/${extra.id}`, { method: "DELETE", headers: user.bearer })).status).toBe(
      204,
    );
    expect((await list(user)).map((address) => address.email)).toEqual([user.email]);
    // Someone else's address id is unknown here.
    const stranger = await signUpUser(api);
    const theirs = (await (await add(stranger, `theirs-${stranger.id}@example.com`)).json()) as AccountEmail;
    const foreign = await api.request(`/v1/me/emails/${theirs.id}`, { method: "DELETE", headers: user.bearer });
    expect((await readProblem(foreign)).code).toBe("not_found");
    expect(await list(stranger)).toHaveLength(2);

    // An account whose primary address is unverified keeps its only verified one.
    await api.platform.db.update(users).set({ emailVerifiedAt: null }).where(eq(users.id, user.id));
    const only = await addAndConfirm(user, `only-${user.id}@example.com`);
    const refused = await api.request(`/v1/me/emails/${only.id}`, { method: "DELETE", headers: user.bearer });
    expect(refused.status).toBe(409);
    expect((await readProblem(refused)).code).toBe("last_verified_email");
    expect(await list(user)).toHaveLength(2);
  });

  test("an address verified on another account is answered like a new one, mails nothing and never verifies", async () => {
    const owner = await signUpUser(api);
    await api.platform.db.update(users).set({ emailVerifiedAt: new Date() }).where(eq(users.id, owner.id));
    const claimer = await signUpUser(api);
    const before = (await mailTo(owner.email)).length;
    const response = await add(claimer, owner.email.toUpperCase());
    expect(response.status).toBe(201);
    expect((await mailTo(owner.email)).length).toBe(before);
    const toClaimed = (await api.platform.email.outbox.list(api.platform.db)).filter(
      (message) => message.to === owner.email.toUpperCase(),
    );
    expect(toClaimed).toHaveLength(0);
    // And signing in with it still reaches its owner only.
    expect(await signInStatus(owner.email)).toBe(200);
  });

  /** An account that signed up with `address`, never proved it and never signed in. */
  const preRegister = async (target: TestApi, address: string) => {
    const [row] = await target.platform.db
      .insert(users)
      .values({
        id: newId("user", target.clock.now().getTime()),
        email: address,
        emailNormalized: address,
        createdAt: target.clock.now(),
        updatedAt: target.clock.now(),
      })
      .returning();
    return row!;
  };

  test("an account holding the address as its primary one keeps it while proof is not required", async () => {
    const real = await signUpUser(api);
    const squatter = await signUpUser(api);
    const address = `kept-${real.id}@example.com`;
    expect((await add(squatter, address)).status).toBe(201);
    // With verification off, an unproven primary address is how every account here lives.
    const holder = await preRegister(api, address);
    expect((await add(real, address)).status).toBe(201);
    // Answered like any taken address: no link was mailed, so there is nothing to confirm.
    expect(
      (await mailTo(address)).filter((message) => message.text.includes("/auth/confirm-email?token=")),
    ).toHaveLength(1);
    const [after] = await api.platform.db.select().from(users).where(eq(users.id, holder.id));
    expect(after!.deletedAt).toBeNull();
    expect((await list(real)).find((entry) => entry.email === address)?.verified).toBe(false);
  });

  test("proven with proof required, an address ends the unverified claims on it: another account's added one, a pre-registration", async () => {
    const strict = await createTestApi({ BURROW_EMAIL_VERIFICATION: "required" });
    try {
      const verifiedUser = async (email: string): Promise<TestUser> => {
        await post(strict, "/v1/auth/sign-up", { email, password: PASSWORD });
        await strict.runJobs();
        const [message] = await strict.platform.email.outbox.list(strict.platform.db, { to: email });
        const text = (await strict.platform.email.outbox.get(strict.platform.db, message!.id))!.text;
        const token = new URL(/http\S+\/auth\/verify-email\?token=\S+/.exec(text)![0]).searchParams.get("token");
        await post(strict, "/v1/auth/email/verify", { token, password: PASSWORD });
        const signedIn = await post(
          strict,
          "/v1/auth/sign-in",
          { email, password: PASSWORD },
          { "x-burrow-client": "bearer" },
        );
        const { sessionToken, user } = (await signedIn.json()) as { sessionToken: string; user: { id: string } };
        return {
          id: user.id,
          email,
          password: PASSWORD,
          token: sessionToken,
          bearer: { authorization: `Bearer ${sessionToken}` },
        };
      };
      const real = await verifiedUser("real.owner@example.com");
      const squatter = await verifiedUser("squatter@example.com");
      const address = "contested@example.com";
      expect((await post(strict, "/v1/me/emails", { email: address }, squatter.bearer)).status).toBe(201);
      const preRegistered = await preRegister(strict, address);
      const mailed = async () => strict.platform.email.outbox.list(strict.platform.db, { to: address });
      const before = new Set((await mailed()).map((message) => message.id));
      expect((await post(strict, "/v1/me/emails", { email: address }, real.bearer)).status).toBe(201);
      // The real owner's link: the message their addition mailed.
      const message = (await mailed()).find((candidate) => !before.has(candidate.id))!;
      const text = (await strict.platform.email.outbox.get(strict.platform.db, message.id))!.text;
      const token = new URL(/http\S+\/auth\/confirm-email\?token=\S+/.exec(text)![0]).searchParams.get("token");
      expect((await post(strict, "/v1/auth/email/confirm", { token })).status).toBe(200);
      const squattersList = (await (await strict.request("/v1/me/emails", { headers: squatter.bearer })).json()) as {
        data: AccountEmail[];
      };
      expect(squattersList.data.map((entry) => entry.email)).not.toContain(address);
      const [after] = await strict.platform.db.select().from(users).where(eq(users.id, preRegistered.id));
      expect(after!.deletedAt).not.toBeNull();
      expect((await post(strict, "/v1/auth/sign-in", { email: address, password: PASSWORD })).status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  test("an email change respects added addresses: another account's proven one is taken, one's own is not listed twice", async () => {
    const holder = await signUpUser(api);
    const proven = await addAndConfirm(holder, `held-${holder.id}@example.com`);
    const changer = await signUpUser(api);
    const changeTo = async (user: TestUser, newEmail: string) => {
      expect((await post(api, "/v1/auth/email/change", { newEmail }, user.bearer)).status).toBeLessThan(300);
      const mail = (await mailTo(newEmail)).find((message) =>
        message.text.includes("/auth/confirm-email-change?token="),
      );
      const token = new URL(/http\S+\/auth\/confirm-email-change\?token=\S+/.exec(mail!.text)![0]).searchParams.get(
        "token",
      );
      return post(api, "/v1/auth/email/change/confirm", { token });
    };
    const refused = await changeTo(changer, proven.email);
    expect((await readProblem(refused)).code).toBe("email_taken");
    expect((await list(changer))[0]!.email).toBe(changer.email);

    const own = await addAndConfirm(changer, `own-${changer.id}@example.com`);
    expect((await changeTo(changer, own.email)).status).toBe(200);
    expect((await list(changer)).map((entry) => entry.email)).toEqual([own.email]);
  });

  test("wrong passwords through an added address lock the account itself: no extra guesses per address", async () => {
    const user = await signUpUser(api);
    const other = await addAndConfirm(user, `lock-${user.id}@example.com`);
    const tries: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++)
      tries.push((await post(api, "/v1/auth/sign-in", { email: other.email, password: "wrong horse battery" })).status);
    expect(tries).toEqual([401, 401, 401, 401, 401]);
    // Locked for every address of the account, the right password included.
    for (const address of [user.email, other.email]) {
      const locked = await post(api, "/v1/auth/sign-in", { email: address, password: PASSWORD });
      expect(locked.status).toBe(429);
    }
  });

  test("the command line names accounts by their primary address; a suspended account proves nothing", async () => {
    const user = await signUpUser(api);
    const other = await addAndConfirm(user, `alias-${user.id}@example.com`);
    await expect(api.platform.operator.createAdmin(other.email)).rejects.toThrow(/another address of the account/);
    expect((await api.platform.rbac.resolver.resolve(user.id, null)).patterns.size).toBe(0);

    const pending = (await (await add(user, `pending2-${user.id}@example.com`)).json()) as AccountEmail;
    const token = await confirmationToken(`pending2-${user.id}@example.com`);
    await api.platform.db.update(users).set({ status: "suspended" }).where(eq(users.id, user.id));
    expect((await readProblem(await post(api, "/v1/auth/email/confirm", { token }))).code).toBe("invalid_link");
    await api.platform.db.update(users).set({ status: "active" }).where(eq(users.id, user.id));
    expect((await list(user)).find((entry) => entry.id === pending.id)?.verified).toBe(false);
  });

  test("a deleted account's proven addresses are free for someone else to prove", async () => {
    const leaving = await signUpUser(api);
    const address = `freed-${leaving.id}@example.com`;
    await addAndConfirm(leaving, address);
    expect((await api.request("/v1/me", { method: "DELETE", headers: leaving.bearer })).status).toBe(204);
    const next = await signUpUser(api);
    const confirmed = await addAndConfirm(next, address);
    expect(confirmed.verified).toBe(true);
    expect(await signInStatus(address)).toBe(200);
  });

  test("an invitation to an added, proven address is accepted by the account that proved it", async () => {
    const owner = await signUpUser(api);
    const org = (await (await post(api, "/v1/orgs", { name: "Invites" }, owner.bearer)).json()) as { id: string };
    const member = await signUpUser(api);
    const work = await addAndConfirm(member, `work-${member.id}@example.com`);
    expect(
      (await post(api, `/v1/orgs/${org.id}/invitations`, { email: work.email, role: "member" }, owner.bearer)).status,
    ).toBe(201);
    const mail = (await mailTo(work.email)).find((message) => message.text.includes("/auth/accept-invitation?token="));
    const token = new URL(/http\S+\/auth\/accept-invitation\?token=\S+/.exec(mail!.text)![0]).searchParams.get("token");
    // Someone else cannot use it.
    const stranger = await signUpUser(api);
    expect((await readProblem(await post(api, "/v1/invitations/accept", { token }, stranger.bearer))).code).toBe(
      "forbidden",
    );
    const joined = await post(api, "/v1/invitations/accept", { token }, member.bearer);
    expect(joined.status).toBe(200);
    expect(((await joined.json()) as { orgId: string }).orgId).toBe(org.id);
  });

  test("bad input is a clear problem and changes nothing", async () => {
    const user = await signUpUser(api);
    const unverified = (await (await add(user, `pending-${user.id}@example.com`)).json()) as AccountEmail;
    const snapshot = await list(user);
    const expectProblem = async (response: Response, status: number, code: string) => {
      expect(response.status).toBe(status);
      expect(response.headers.get("content-type")).toContain("application/problem+json");
      expect((await readProblem(response)).code).toBe(code);
    };
    await expectProblem(await add(user, "not-an-address"), 400, "validation_failed");
    await expectProblem(await add(user, `${"a".repeat(250)}@example.com`), 400, "validation_failed");
    await expectProblem(await add(user, user.email), 409, "email_already_added");
    await expectProblem(await add(user, `PENDING-${user.id}@example.com`), 409, "email_already_added");
    await expectProblem(
      await post(api, `/v1/me/emails/${unverified.id}/primary`, {}, user.bearer),
      409,
      "email_unverified",
    );
    await expectProblem(await post(api, "/v1/me/emails/not-an-id/primary", {}, user.bearer), 400, "invalid_id");
    await expectProblem(
      await post(api, "/v1/me/emails", { email: "x@example.com", extra: 1 }, user.bearer),
      400,
      "validation_failed",
    );
    await expectProblem(await post(api, "/v1/auth/email/confirm", { token: "forged" }), 400, "invalid_link");
    await expectProblem(await api.request("/v1/me/emails"), 401, "unauthenticated");
    expect(await list(user)).toEqual(snapshot);

    // A stale session must re-authenticate first.
    api.clock.advance(11 * 60_000);
    await expectProblem(await add(user, `late-${user.id}@example.com`), 403, "reauthentication_required");
    await expectProblem(
      await api.request(`/v1/me/emails/${unverified.id}`, { method: "DELETE", headers: user.bearer }),
      403,
      "reauthentication_required",
    );
    expect(await list(user)).toEqual(snapshot);
  });

  test("the admin API lists a user's addresses, marks one verified and removes one, with users:manage only", async () => {
    const operator = await signUpUser(api);
    await grantPlatformPermissions(api, operator.id, ["users:read", "users:manage"]);
    const reader = await signUpUser(api);
    await grantPlatformPermissions(api, reader.id, ["users:read"]);
    const user = await signUpUser(api);
    const added = (await (await add(user, `admin-${user.id}@example.com`)).json()) as AccountEmail;
    const listed = await api.request(`/v1/admin/users/${user.id}/emails`, { headers: reader.bearer });
    expect(((await listed.json()) as { data: AccountEmail[] }).data.map((entry) => entry.email)).toEqual([
      user.email,
      `admin-${user.id}@example.com`,
    ]);
    const verifyPath = `/v1/admin/users/${user.id}/emails/${added.id}/verify`;
    expect((await readProblem(await post(api, verifyPath, {}, reader.bearer))).code).toBe("forbidden");
    expect((await list(user))[1]!.verified).toBe(false);
    const verified = await post(api, verifyPath, {}, operator.bearer);
    expect(verified.status).toBe(200);
    expect(((await verified.json()) as AccountEmail).verified).toBe(true);
    const [entry] = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "user.email_verified"), eq(auditLogs.targetId, user.id)));
    expect(entry!.actorId).toBe(operator.id);
    await api.platform.db.update(users).set({ emailVerifiedAt: new Date() }).where(eq(users.id, user.id));
    const removed = await api.request(`/v1/admin/users/${user.id}/emails/${added.id}`, {
      method: "DELETE",
      headers: operator.bearer,
    });
    expect(removed.status).toBe(204);
    expect(await list(user)).toHaveLength(1);
    const unknown = await api.request(`/v1/admin/users/${user.id}/emails/${added.id}`, {
      method: "DELETE",
      headers: operator.bearer,
    });
    expect((await readProblem(unknown)).code).toBe("not_found");
  });

  test("twenty additions in a minute are rate limited", async () => {
    const user = await signUpUser(api);
    const statuses: number[] = [];
    for (let index = 0; index < 20; index++)
      statuses.push((await add(user, `burst${index}-${user.id}@example.com`)).status);
    // One was added in the first test of the burst's limit: five in ten minutes, then 429.
    expect(statuses.filter((status) => status === 201)).toHaveLength(5);
    expect(statuses.slice(5).every((status) => status === 429)).toBe(true);
    expect(await list(user)).toHaveLength(6);
  });
});
