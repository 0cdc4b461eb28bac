import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import {
  createAuditLog,
  createKeyRing,
  newId,
  type AuditLog,
  type DatabaseHandle,
  type UserId,
} from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { createTestClock, heldOpen, untilWaiting } from "@burrow/platform-core/testing";
import { createAuth, type Auth } from "@burrow/platform-auth";
import { countingHasher, createTestAuth, testConfig } from "@burrow/platform-auth/testing";
import { users } from "@burrow/platform-auth/schema";
import { type Email } from "@burrow/platform-email";
import { createRbac, INVITATION_TTL_MS, type Invitations, type Rbac } from "../index.ts";
import { lockOrganization } from "../organizations/organizations.ts";
import { organizationMemberships, roles } from "../schema.ts";
import { refusals } from "../test-rbac.ts";

const config = testConfig();
const PASSWORD = "purple submarine garden";

describe("invitations", () => {
  let handle: DatabaseHandle;
  let auth: Auth;
  let rbac: Rbac;
  let invitations: Invitations;
  let email: Email;
  let audit: AuditLog;
  const clock = createTestClock();
  const hasher = countingHasher();
  let counter = 0;

  beforeAll(async () => {
    ({ handle, auth, audit, email } = await createTestAuth({ clock, hasher }));
    // Composed as the platform composition does: rbac's invitations use auth and the outbox.
    rbac = createRbac({ db: handle.db, clock, audit });
    invitations = rbac.createInvitations({ config, auth, mailer: email.outbox });
  });
  afterAll(() => handle.close());

  const address = (label: string) => `${label}-${++counter}@example.com`;
  /** An account whose address is proven, and a session of it. */
  const verifiedUser = async (mail: string, restriction?: "mfa_enrolment") => {
    const id = newId("user") as UserId;
    await handle.db.insert(users).values({
      id,
      email: mail,
      emailNormalized: mail,
      emailVerifiedAt: clock.now(),
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
    const { session } = await auth.sessions.create(handle.db, {
      userId: id,
      methods: ["password"],
      request: {},
      ...(restriction ? { restriction } : {}),
    });
    return { id, session };
  };
  /** An organization, its owner and an admin. */
  const team = async () => {
    const owner = await verifiedUser(address("owner"));
    const admin = await verifiedUser(address("admin"));
    const org = await rbac.organizations.create(owner.id, { name: `Invitations ${counter}` }, {});
    const [adminRole] = await handle.db.select().from(roles).where(eq(roles.key, "admin"));
    await handle.db
      .insert(organizationMemberships)
      .values({ orgId: org.id, userId: admin.id, roleId: adminRole!.id, joinedAt: clock.now() });
    await rbac.resolver.changed(handle.db, admin.id);
    return { orgId: org.id, owner: owner.id, admin: admin.id };
  };
  /** Invites, then reads the token from the mailed link (as the recipient would). */
  const invite = async (actorId: string, orgId: string, to: string, role = "member") => {
    clock.advance(1000);
    const invitation = await invitations.invite(actorId, orgId, { email: to, role }, {});
    const messages = (await email.outbox.list(handle.db, { to })).filter(
      (message) => message.templateKey === "org.invitation",
    );
    const newest = messages.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0]!;
    const text = (await email.outbox.get(handle.db, newest.id))!.text;
    const link = text.match(/https?:\/\/\S*\/auth\/accept-invitation\?token=[A-Za-z0-9_-]{43}/)?.[0];
    if (link === undefined) throw new Error("no invitation link in the message");
    return { invitation, token: new URL(link).searchParams.get("token")! };
  };
  const invalidLink = { code: "invalid_link" };

  test("an invitation names the role it grants, in the answer and the list, and is mailed and audited", async () => {
    const { orgId, owner } = await team();
    const to = address("shown");
    const { invitation, token } = await invite(owner, orgId, to, "admin");
    expect(invitation).toMatchObject({ role: "admin", email: to, orgId, acceptedAt: null, revokedAt: null });
    expect(invitation.expiresAt.getTime() - invitation.createdAt.getTime()).toBe(INVITATION_TTL_MS);
    expect(invitation.tokenHash).not.toContain(token);
    const listed = await invitations.list(owner, orgId);
    expect(listed.find((row) => row.id === invitation.id)?.role).toBe("admin");
    const sent = await handle.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "invitation.sent"), eq(auditLogs.targetId, invitation.id)));
    expect(sent[0]).toMatchObject({ actorId: owner, orgId, metadata: { role: "admin" } });
  });

  test("an existing account with the invited, verified address joins with the invited role; the invitation is single-use", async () => {
    const { orgId, owner } = await team();
    const to = address("existing");
    const invitee = await verifiedUser(to);
    const { token } = await invite(owner, orgId, to, "admin");
    expect(await rbac.can(invitee.id, "members:invite", { orgId })).toBe(false);
    expect(await invitations.accept(invitee.session, token, {})).toEqual({ orgId });
    expect((await rbac.resolver.resolve(invitee.id, orgId)).orgRole).toBe("admin");
    expect(await rbac.can(invitee.id, "members:invite", { orgId })).toBe(true);
    await expect(invitations.accept(invitee.session, token, {})).rejects.toMatchObject(invalidLink);
    await expect(invitations.acceptWithNewAccount({ token, password: PASSWORD }, {})).rejects.toMatchObject(
      invalidLink,
    );
  });

  test("only the proven owner of the invited address may accept; the invitation stays usable for them", async () => {
    const { orgId, owner } = await team();
    const to = address("owned");
    const { token } = await invite(owner, orgId, to);
    const stranger = await verifiedUser(address("stranger"));
    await expect(invitations.accept(stranger.session, token, {})).rejects.toMatchObject({ code: "forbidden" });
    const unverified = await verifiedUser(to);
    await handle.db.update(users).set({ emailVerifiedAt: null }).where(eq(users.id, unverified.id));
    await expect(invitations.accept(unverified.session, token, {})).rejects.toMatchObject({ code: "forbidden" });
    await handle.db.update(users).set({ emailVerifiedAt: clock.now() }).where(eq(users.id, unverified.id));
    expect(await invitations.accept(unverified.session, token, {})).toEqual({ orgId });
  });

  test("a session held back for MFA enrolment may not accept (mfa_enrolment_required)", async () => {
    const { orgId, owner } = await team();
    const to = address("restricted");
    const { token } = await invite(owner, orgId, to);
    const invitee = await verifiedUser(to, "mfa_enrolment");
    await expect(invitations.accept(invitee.session, token, {})).rejects.toMatchObject({
      code: "mfa_enrolment_required",
    });
    expect((await rbac.resolver.resolve(invitee.id, orgId)).orgRole).toBeNull();
  });

  test("with no account yet, accepting makes a verified account with the password, signs it in and joins it", async () => {
    const { orgId, owner } = await team();
    const to = address("newcomer");
    const { token } = await invite(owner, orgId, to, "admin");
    const { orgId: joined, signedIn } = await invitations.acceptWithNewAccount(
      { token, password: PASSWORD, name: "New Comer" },
      {},
    );
    expect(joined).toBe(orgId);
    expect(signedIn.user).toMatchObject({ email: to, name: "New Comer" });
    expect(signedIn.user.emailVerifiedAt).not.toBeNull();
    expect(signedIn.session.authMethods).toEqual(["invitation"]);
    // The account's creation is audited as a sign-up (webhooks send it as user.created).
    const [created] = await handle.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "user.signed_up"), eq(auditLogs.targetId, signedIn.user.id)));
    expect(created?.metadata).toMatchObject({ method: "invitation" });
    expect((await auth.sessions.validate(signedIn.token)).user?.id).toBe(signedIn.user.id);
    expect((await rbac.resolver.resolve(signedIn.user.id, orgId)).orgRole).toBe("admin");
    // The password was set: the account signs in with it.
    expect((await auth.signIn({ email: to, password: PASSWORD }, {})).kind).toBe("signed_in");
    // Single use.
    await expect(invitations.acceptWithNewAccount({ token, password: PASSWORD }, {})).rejects.toMatchObject(
      invalidLink,
    );
  });

  test.skipIf(process.env.DATABASE_URL === undefined)(
    "with no account yet, the password is hashed before the organization is locked (PostgreSQL)",
    async () => {
      const { orgId, owner } = await team();
      const { token } = await invite(owner, orgId, address("hashed-first"));
      const before = hasher.hashes;
      // Another change to the organization's members, held open at its lock.
      const change = await heldOpen(handle.db, async (tx) => {
        await lockOrganization(tx, orgId);
      });
      const accepting = invitations.acceptWithNewAccount({ token, password: PASSWORD }, {});
      expect(await untilWaiting(handle.db, [accepting])).toBe(1);
      // It waits for the organization with the password hashed: no change to the organization waits on
      // Argon2id. Before, it hashed under the lock, and waited here with nothing hashed.
      expect(hasher.hashes - before).toBe(1);
      const [accepted] = await change.settle([accepting]);
      expect(accepted.orgId).toBe(orgId);
    },
  );

  test.skipIf(process.env.DATABASE_URL === undefined)(
    "an invitation accepted while the account is being deleted: refused, and no membership outlives the account (PostgreSQL)",
    async () => {
      const { orgId, owner } = await team();
      const to = address("leaving");
      const invitee = await verifiedUser(to);
      const { token } = await invite(owner, orgId, to);
      // The account's deletion as the service makes it (the account's row first), held open before its commit.
      const deletion = await heldOpen(handle.db, async (tx) => {
        const now = clock.now();
        await tx
          .update(users)
          .set({ status: "deleted", deletedAt: now, updatedAt: now })
          .where(eq(users.id, invitee.id));
      });
      const accepting = invitations.accept(invitee.session, token, {}).catch((error: unknown) => error);
      expect(await untilWaiting(handle.db, [accepting])).toBe(1);
      // Before, the acceptance took no lock on the account: it joined beside the deletion, which ends
      // the account's memberships, and the membership outlived the account.
      const [accepted] = await deletion.settle([accepting]);
      expect(accepted).toMatchObject({ code: "unauthenticated" });
      expect(
        await handle.db.select().from(organizationMemberships).where(eq(organizationMemberships.userId, invitee.id)),
      ).toEqual([]);
    },
  );

  test("under BURROW_MFA_REQUIRED=all, the new account's session is restricted to MFA enrolment", async () => {
    const strictConfig = testConfig({ BURROW_MFA_REQUIRED: "all" });
    const keyRing = createKeyRing(strictConfig.encryptionKeys);
    const audit = createAuditLog({ clock, secret: strictConfig.secret, storeRawIp: false });
    const strictAuth = createAuth({
      db: handle.db,
      config: strictConfig,
      clock,
      audit,
      keyRing,
      email: email.outbox,
      sms: email.sms,
    });
    const strict = rbac.createInvitations({ config: strictConfig, auth: strictAuth, mailer: email.outbox });
    const { orgId, owner } = await team();
    const { token } = await invite(owner, orgId, address("policy"));
    const { signedIn } = await strict.acceptWithNewAccount({ token, password: PASSWORD }, {});
    expect(signedIn.session.restriction).toBe("mfa_enrolment");
    // Joined all the same: the restriction limits the session, not the membership.
    expect((await rbac.resolver.resolve(signedIn.user.id, orgId)).orgRole).toBe("member");
  });

  test("accepting with a new account is refused when the address already has one (account_exists)", async () => {
    const { orgId, owner } = await team();
    const to = address("taken");
    const existing = await verifiedUser(to);
    const { token } = await invite(owner, orgId, to);
    await expect(invitations.acceptWithNewAccount({ token, password: PASSWORD }, {})).rejects.toMatchObject({
      code: "account_exists",
    });
    // Nothing was used up: the owner of the address can still accept.
    expect(await invitations.accept(existing.session, token, {})).toEqual({ orgId });
  });

  test("a weak password for a new account is refused and the invitation is left unused", async () => {
    const { orgId, owner } = await team();
    const to = address("weak");
    const { token } = await invite(owner, orgId, to);
    await expect(invitations.acceptWithNewAccount({ token, password: "password" }, {})).rejects.toMatchObject({
      code: "weak_password",
    });
    expect(await auth.users.findByEmail(handle.db, to)).toBeUndefined();
    expect((await invitations.acceptWithNewAccount({ token, password: PASSWORD }, {})).orgId).toBe(orgId);
  });

  test("an invitation expires after 7 days", async () => {
    const { orgId, owner } = await team();
    const to = address("late");
    const invitee = await verifiedUser(to);
    const { token } = await invite(owner, orgId, to);
    clock.advance(INVITATION_TTL_MS);
    await expect(invitations.accept(invitee.session, token, {})).rejects.toMatchObject(invalidLink);
    await expect(invitations.acceptWithNewAccount({ token, password: PASSWORD }, {})).rejects.toMatchObject(
      invalidLink,
    );
  });

  test("re-sending replaces the pending invitation; a revoked one is dead and cannot be revoked twice", async () => {
    const { orgId, owner } = await team();
    const to = address("twice");
    const invitee = await verifiedUser(to);
    const first = await invite(owner, orgId, to);
    const second = await invite(owner, orgId, to);
    await expect(invitations.accept(invitee.session, first.token, {})).rejects.toMatchObject(invalidLink);
    await invitations.revoke(owner, orgId, second.invitation.id, {});
    await expect(invitations.accept(invitee.session, second.token, {})).rejects.toMatchObject(invalidLink);
    await expect(invitations.revoke(owner, orgId, second.invitation.id, {})).rejects.toMatchObject({
      code: "not_found",
    });
  });

  test("nobody invites beyond their own role, and a member's address is already_member", async () => {
    const { orgId, owner, admin } = await team();
    await expect(
      invitations.invite(admin, orgId, { email: address("promoted"), role: "owner" }, {}),
    ).rejects.toMatchObject({ code: "forbidden" });
    expect((await invite(admin, orgId, address("helper"), "admin")).invitation.role).toBe("admin");
    const [adminRow] = await handle.db.select({ email: users.email }).from(users).where(eq(users.id, admin));
    await expect(
      invitations.invite(owner, orgId, { email: adminRow!.email.toUpperCase(), role: "member" }, {}),
    ).rejects.toMatchObject({ code: "already_member" });
  });

  describe("under concurrency (parallel transactions on PostgreSQL; one at a time on PGlite)", () => {
    test("two organizations' invitations to one new address, accepted with new accounts at once: one account", async () => {
      const [first, second] = [await team(), await team()];
      const to = address("twice");
      const tokens = [
        (await invite(first.owner, first.orgId, to)).token,
        (await invite(second.owner, second.orgId, to)).token,
      ];
      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, (_, index) =>
          invitations.acceptWithNewAccount({ token: tokens[index % 2]!, password: PASSWORD }, {}),
        ),
      );
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled").length).toBe(1);
      // The winner's token is used up (invalid_link); the other finds the new account (account_exists).
      expect(refusals(outcomes, ["invalid_link", "account_exists"])).toEqual({ invalid_link: 2, account_exists: 3 });
      expect((await handle.db.select().from(users).where(eq(users.emailNormalized, to))).length).toBe(1);
      const joined = (
        outcomes.find((outcome) => outcome.status === "fulfilled") as PromiseFulfilledResult<{ orgId: string }>
      ).value.orgId;
      const memberships = await handle.db
        .select()
        .from(organizationMemberships)
        .where(eq(organizationMemberships.orgId, joined === first.orgId ? second.orgId : first.orgId));
      // The other organization gained nobody; its invitation is still there to accept once signed in.
      expect(memberships.length).toBe(2);
      expect(
        (await invitations.list(first.owner, first.orgId))
          .concat(await invitations.list(second.owner, second.orgId))
          .filter((row) => row.acceptedAt === null).length,
      ).toBe(1);
    });

    test("removing a role while an invitation offers it: either the invitation or the removal wins, 10 rounds", async () => {
      for (let round = 0; round < 10; round++) {
        const { orgId, owner } = await team();
        const role = await rbac.roles.create(owner, orgId, { key: "offered", name: "Offered", permissions: [] }, {});
        const [sent, removal] = await Promise.allSettled([
          invitations.invite(owner, orgId, { email: address("offered"), role: "offered" }, {}),
          rbac.roles.remove(owner, orgId, role.id, {}),
        ]);
        refusals([sent!, removal!], ["role_in_use", "validation_failed"]);
        expect(sent!.status === "fulfilled").toBe(removal!.status === "rejected");
        const [left] = await handle.db.select().from(roles).where(eq(roles.id, role.id));
        expect(left === undefined).toBe(removal!.status === "fulfilled");
        expect((await invitations.list(owner, orgId)).length).toBe(sent!.status === "fulfilled" ? 1 : 0);
      }
    });

    test("removing a role while its invitation is accepted: the member joins, the removal is role_in_use, 10 rounds", async () => {
      for (let round = 0; round < 10; round++) {
        const { orgId, owner } = await team();
        const role = await rbac.roles.create(owner, orgId, { key: "joining", name: "Joining", permissions: [] }, {});
        const to = address("joining");
        const joiner = await verifiedUser(to);
        const { token } = await invite(owner, orgId, to, "joining");
        const [accepted, removal] = await Promise.allSettled([
          invitations.accept(joiner.session, token, {}),
          rbac.roles.remove(owner, orgId, role.id, {}),
        ]);
        expect(accepted!.status).toBe("fulfilled");
        expect(refusals([removal!], ["role_in_use"])).toEqual({ role_in_use: 1 });
        const [joined] = await handle.db
          .select()
          .from(organizationMemberships)
          .where(and(eq(organizationMemberships.orgId, orgId), eq(organizationMemberships.userId, joiner.id)));
        expect(joined?.roleId).toBe(role.id);
      }
    });
  });
});
