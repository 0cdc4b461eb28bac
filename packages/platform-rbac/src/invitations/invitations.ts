import { and, desc, eq, isNull } from "drizzle-orm";
import {
  consumeRateLimit,
  isUniqueViolation,
  newId,
  PlatformError,
  mintSecret,
  secretHash,
  singleUse,
  type AuditLog,
  type Clock,
  type Config,
  type Database,
  type RatePolicy,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import { lockUser, normalizeEmail, type Auth, type SessionRow, type SignedIn } from "@burrow/platform-auth";
import type { Outbox } from "@burrow/platform-email";
import { findOrgRole, lockOrganization, type Organizations } from "../organizations/organizations.ts";
import { coversAll } from "../access/permissions.ts";
import type { PermissionResolver } from "../access/resolver.ts";
import { organizationInvitations, organizationMemberships, organizations, roles } from "../schema.ts";

export type InvitationRow = typeof organizationInvitations.$inferSelect;
/** An invitation with the key of the role it grants. */
export type InvitationView = InvitationRow & { role: string };

/** An invitation lives 7 days: long enough for a busy week, short enough to go stale safely. */
export const INVITATION_TTL_MS = 7 * 86_400_000;

/**
 * An invitation mails an organization name its inviter chose to any address: a spam and phishing
 * channel. Each inviter may send 20 at once, then one every 3 minutes; each organization 50, then one
 * a minute — a team's onboarding fits, a mailing campaign does not.
 */
export const INVITATION_RATE_LIMITS: { perInviter: RatePolicy; perOrganization: RatePolicy } = {
  perInviter: { count: 20, windowMs: 3 * 60_000 },
  perOrganization: { count: 50, windowMs: 60_000 },
};

// An invitation's token is redeemed once, by accepting it.
const invitationSecrets = singleUse(organizationInvitations, {
  id: organizationInvitations.id,
  expiresAt: organizationInvitations.expiresAt,
  usedAt: organizationInvitations.acceptedAt,
  revokedAt: organizationInvitations.revokedAt,
});

export interface Invitations {
  /** Mails `org.invitation`; a newer invitation to the same address replaces the pending one. */
  invite(
    actorId: string,
    orgId: string,
    input: { email: string; role: string },
    request: RequestContext,
  ): Promise<InvitationView>;
  list(actorId: string, orgId: string): Promise<InvitationView[]>;
  revoke(actorId: string, orgId: string, invitationId: string, request: RequestContext): Promise<void>;
  /**
   * A signed-in user whose verified email is the invited one joins. A session held back by the MFA
   * policy (enrolment pending) is refused with 403 `mfa_enrolment_required`, whichever edge calls.
   */
  accept(
    session: Pick<SessionRow, "userId" | "restriction">,
    token: string,
    request: RequestContext,
  ): Promise<{ orgId: string }>;
  /**
   * No account yet for the invited address: the account is made (the address is proven) and signed in
   * through the one sign-in completion, so the MFA policy applies (a restricted session under `all`).
   */
  acceptWithNewAccount(
    input: { token: string; password: string; name?: string | null },
    request: RequestContext,
  ): Promise<{ orgId: string; signedIn: SignedIn }>;
}

export function createInvitations(options: {
  db: Database;
  config: Config;
  clock: Clock;
  audit: AuditLog;
  resolver: PermissionResolver;
  organizations: Organizations;
  mailer: Pick<Outbox, "queue">;
  auth: Pick<Auth, "users" | "preparePassword" | "setPassword" | "completion">;
}): Invitations {
  const { db, clock, audit, resolver, config } = options;

  const authorize = (actorId: string, orgId: string) =>
    options.organizations.authorize(actorId, orgId, "members:invite");

  /**
   * The live invitation the token names, locked for the rest of the caller's transaction: racing
   * accepts queue here, and once the first has redeemed it the others find nothing (invalid_link)
   * instead of creating the same new account twice (a unique violation, a 500). Its organization is
   * locked first, in the order every change to an organization's members, roles and invitations
   * takes, so a role's removal cannot slip between this acceptance's checks and its commit. 400
   * `invalid_link` for anything else (used, revoked, expired, unknown).
   */
  async function live(tx: Database, token: string): Promise<InvitationRow> {
    const named = await readLive(tx, token);
    if (named !== undefined) await lockOrganization(tx, named.orgId);
    const row = named && (await readLive(tx, token, { lock: true }));
    if (row === undefined) throw new PlatformError("invalid_link");
    return row;
  }

  /** The live invitation a token names, in a live organization; with `lock`, its row locked. */
  async function readLive(db: Database, token: string, options: { lock?: boolean } = {}) {
    const hash = secretHash(token);
    if (hash === undefined) return undefined;
    const query = db
      .select({ invitation: organizationInvitations })
      .from(organizationInvitations)
      .innerJoin(
        organizations,
        and(eq(organizations.id, organizationInvitations.orgId), isNull(organizations.deletedAt)),
      )
      .where(and(eq(organizationInvitations.tokenHash, hash), invitationSecrets.live(clock.now())));
    const [row] = options.lock === true ? await query.for("update", { of: organizationInvitations }) : await query;
    return row?.invitation;
  }

  async function join(tx: Database, invitation: InvitationRow, userId: string, request: RequestContext): Promise<void> {
    const claimed = await invitationSecrets.redeem(tx, clock.now(), eq(organizationInvitations.id, invitation.id), {
      acceptedBy: userId,
    });
    if (claimed === undefined) throw new PlatformError("invalid_link");
    const inserted = await tx
      .insert(organizationMemberships)
      .values({ orgId: invitation.orgId, userId, roleId: invitation.roleId, joinedAt: clock.now() })
      .onConflictDoNothing()
      .returning();
    if (inserted.length === 0) throw new PlatformError("already_member", { detail: "You are already a member." });
    await audit.record(
      tx,
      {
        action: "invitation.accepted",
        actor: { type: "user", id: userId },
        target: { type: "invitation", id: invitation.id },
        orgId: invitation.orgId,
      },
      request,
    );
    await audit.record(
      tx,
      {
        action: "member.added",
        actor: { type: "user", id: userId },
        target: { type: "user", id: userId },
        orgId: invitation.orgId,
      },
      request,
    );
    await resolver.changed(tx, userId);
  }

  return {
    async invite(actorId, orgId, input, request) {
      await authorize(actorId, orgId);
      return db.transaction(async (tx) => {
        // Locked first, as by every change to the organization's roles and members: the role read here
        // is not removed before this invitation offering it commits (roles.remove then sees it).
        if (!(await lockOrganization(tx, orgId))) throw new PlatformError("not_found");
        const role = await findOrgRole(tx, input.role, orgId);
        const held = [...(await resolver.resolve(actorId, orgId, tx)).patterns];
        if (!coversAll(held, role.permissions))
          throw new PlatformError("forbidden", { detail: `You cannot invite as ${input.role}.` });
        // In the transaction: an invitation refused later (a member already) gives its tokens back.
        for (const [key, policy] of [
          [`invite:user:${actorId}`, INVITATION_RATE_LIMITS.perInviter],
          [`invite:org:${orgId}`, INVITATION_RATE_LIMITS.perOrganization],
        ] as const) {
          const limit = await consumeRateLimit(tx, clock, key, policy);
          if (!limit.allowed)
            throw new PlatformError("rate_limited", {
              detail: "Too many invitations; try again later.",
              headers: { "Retry-After": String(Math.max(1, Math.ceil(limit.retryAfterMs / 1000))) },
            });
        }
        const emailNormalized = normalizeEmail(input.email);
        const existing = await options.auth.users.findByEmail(tx, emailNormalized);
        if (existing !== undefined) {
          const [member] = await tx
            .select()
            .from(organizationMemberships)
            .where(and(eq(organizationMemberships.orgId, orgId), eq(organizationMemberships.userId, existing.id)));
          if (member !== undefined)
            throw new PlatformError("already_member", { detail: "That address already belongs to a member." });
        }
        const now = clock.now();
        // Re-sending: the pending invitation to this address is replaced.
        await invitationSecrets.revoke(
          tx,
          now,
          and(eq(organizationInvitations.orgId, orgId), eq(organizationInvitations.emailNormalized, emailNormalized))!,
        );
        const { secret: token, hash } = mintSecret();
        const [row] = await tx
          .insert(organizationInvitations)
          .values({
            id: newId("invitation", now.getTime()),
            orgId,
            email: input.email.trim(),
            emailNormalized,
            roleId: role.id,
            invitedBy: actorId,
            tokenHash: hash,
            expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
            createdAt: now,
          })
          .returning();
        const [org] = await tx
          .select({ name: organizations.name })
          .from(organizations)
          .where(eq(organizations.id, orgId));
        const inviter = await options.auth.users.get(tx, actorId as UserId);
        const url = new URL(`${config.basePath}/auth/accept-invitation`, config.publicUrl);
        url.searchParams.set("token", token);
        await options.mailer.queue(tx, {
          to: input.email.trim(),
          template: "org.invitation",
          variables: {
            url: url.toString(),
            orgName: org!.name,
            inviterName: inviter?.name ?? inviter?.email ?? "A teammate",
          },
        });
        await audit.record(
          tx,
          {
            action: "invitation.sent",
            actor: { type: "user", id: actorId },
            target: { type: "invitation", id: row!.id },
            orgId,
            metadata: { role: input.role },
          },
          request,
        );
        return { ...row!, role: role.key };
      });
    },

    async list(actorId, orgId) {
      await authorize(actorId, orgId);
      const rows = await db
        .select({ invitation: organizationInvitations, role: roles.key })
        .from(organizationInvitations)
        .innerJoin(roles, eq(roles.id, organizationInvitations.roleId))
        .where(eq(organizationInvitations.orgId, orgId))
        .orderBy(desc(organizationInvitations.createdAt));
      return rows.map((row) => ({ ...row.invitation, role: row.role }));
    },

    async revoke(actorId, orgId, invitationId, request) {
      await authorize(actorId, orgId);
      await db.transaction(async (tx) => {
        const revoked = await invitationSecrets.revoke(
          tx,
          clock.now(),
          and(eq(organizationInvitations.id, invitationId), eq(organizationInvitations.orgId, orgId))!,
        );
        if (revoked === 0) throw new PlatformError("not_found");
        await audit.record(
          tx,
          {
            action: "invitation.revoked",
            actor: { type: "user", id: actorId },
            target: { type: "invitation", id: invitationId },
            orgId,
          },
          request,
        );
      });
    },

    async accept(session, token, request) {
      // Until the policy's second factor is enrolled, a session may do nothing else: joining included.
      if (session.restriction !== null) throw new PlatformError("mfa_enrolment_required");
      const { userId } = session;
      return db.transaction(async (tx) => {
        // The account first, then the organization (the lock order): no account joins while its
        // deletion is under way, which ends its memberships.
        if ((await lockUser(tx, userId)) === undefined) throw new PlatformError("unauthenticated");
        const invitation = await live(tx, token);
        // The invitation is for an address, and only its proven owner may use it: the account whose
        // proven primary address it is, or which proved it as another of its addresses.
        const holder = await options.auth.users.findByEmail(tx, invitation.emailNormalized);
        const proven =
          holder !== undefined &&
          holder.id === userId &&
          (holder.emailNormalized !== invitation.emailNormalized || holder.emailVerifiedAt !== null);
        if (!proven) throw new PlatformError("forbidden", { detail: "This invitation is for another email address." });
        await join(tx, invitation, userId, request);
        return { orgId: invitation.orgId };
      });
    },

    async acceptWithNewAccount(input, request) {
      const accountExists = () =>
        new PlatformError("account_exists", { detail: "That address already has an account: sign in, then accept." });
      // The password is checked and hashed before the organization is locked (Argon2id takes tens of
      // milliseconds, and every change to the organization's members would wait for it).
      const named = await readLive(db, input.token);
      if (named === undefined) throw new PlatformError("invalid_link");
      if ((await options.auth.users.findByEmail(db, named.emailNormalized)) !== undefined) throw accountExists();
      const prepared = await options.auth.preparePassword(
        db,
        { id: undefined, email: named.email, name: input.name ?? null },
        input.password,
      );
      return db.transaction(async (tx) => {
        const invitation = await live(tx, input.token);
        if ((await options.auth.users.claimAddress(tx, invitation.emailNormalized)) !== undefined)
          throw accountExists();
        // Receiving the invitation proves the address.
        const user = await options.auth.users
          .insert(tx, { email: invitation.email, name: input.name ?? null, emailVerified: true })
          .catch((error: unknown) => {
            // Made meanwhile (another organization's invitation to this address, or a sign-up): the
            // address's unique index is the check that holds when both passed the one above.
            throw isUniqueViolation(error) ? accountExists() : error;
          });
        await audit.recordByUser(tx, user.id, "user.signed_up", request, {
          metadata: { method: "invitation", invitationId: invitation.id },
        });
        await options.auth.setPassword(tx, { id: user.id as UserId, email: user.email, name: user.name }, prepared);
        await join(tx, invitation, user.id, request);
        // The one sign-in completion applies the MFA policy. A brand-new account has no second factor,
        // so there is never a challenge here: a session, restricted to enrolment when policy demands.
        const outcome = await options.auth.completion.afterFirstFactor(tx, user.id, "invitation", request);
        if (outcome.kind !== "signed_in") throw new Error("a new account cannot have a second factor to challenge");
        return { orgId: invitation.orgId, signedIn: outcome };
      });
    },
  };
}
