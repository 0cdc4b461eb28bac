import { and, asc, eq, inArray, isNotNull, isNull, ne, or } from "drizzle-orm";
import {
  consumeRateLimit,
  isUniqueViolation,
  newId,
  PlatformError,
  type Database,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import { buildLink } from "../flows/links.ts";
import { LIFETIMES } from "../flows/lifetimes.ts";
import { userEmails, users } from "../schema.ts";
import type { SessionRow, Sessions } from "../sessions/sessions.ts";
import type { OneTimeTokens } from "../tokens/tokens.ts";
import { lockAddress, lockUser, normalizeEmail, type UserRow, type Users } from "./users.ts";

/** One address of an account, as its owner and operators see it. */
export interface AccountEmail {
  /** Null for the primary address, which lives on the account itself. */
  id: string | null;
  email: string;
  primary: boolean;
  verified: boolean;
  createdAt: string;
}

/** Mail that asks for an address: a few a quarter hour per account, like every mail a user asks for. */
const ADD_POLICY = { count: 5, windowMs: 10 * 60_000 };
/** Addresses an account may hold besides its primary one. */
const MAX_ADDRESSES = 10;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface AccountEmails {
  list(db: Database, userId: UserId): Promise<AccountEmail[]>;
  /**
   * Adds an unverified address and mails it a confirmation link, with a notice to the primary
   * address. An address verified on another account is answered the same way, and no mail goes out:
   * neither its owner nor the caller learns anything.
   */
  add(session: SessionRow, email: string, request: RequestContext): Promise<AccountEmail>;
  /** Confirms an added address by its emailed link; a claim another account holds unverified is dropped. */
  confirm(token: string, request: RequestContext): Promise<AccountEmail>;
  /** Makes a verified address primary (the old one stays as another address); both are told. */
  makePrimary(session: SessionRow, emailId: string, request: RequestContext): Promise<AccountEmail>;
  /** Removes another address (recent re-authentication; never the account's last verified one). */
  remove(session: SessionRow, emailId: string, request: RequestContext): Promise<void>;
  /** An operator marks an address verified (audited with the operator as actor). */
  markVerifiedByOperator(
    userId: UserId,
    emailId: string,
    operatorId: string,
    request: RequestContext,
  ): Promise<AccountEmail>;
  /** An operator removes an address (audited with the operator as actor). */
  removeByOperator(userId: UserId, emailId: string, operatorId: string, request: RequestContext): Promise<void>;
}

type EmailRow = typeof userEmails.$inferSelect;

const toView = (row: EmailRow): AccountEmail => ({
  id: row.id,
  email: row.email,
  primary: false,
  verified: row.verifiedAt !== null,
  createdAt: row.createdAt.toISOString(),
});

const primaryView = (user: UserRow): AccountEmail => ({
  id: null,
  email: user.email,
  primary: true,
  verified: user.emailVerifiedAt !== null,
  createdAt: user.createdAt.toISOString(),
});

export function createAccountEmails(
  context: AuthContext,
  parts: { tokens: OneTimeTokens; sessions: Pick<Sessions, "assertRecent" | "changed">; users: Pick<Users, "locked"> },
): AccountEmails {
  const { db, clock, audit, email: outbox, config } = context;
  const { tokens, sessions } = parts;

  async function activeUser(tx: Database, userId: string): Promise<UserRow> {
    const [user] = await tx
      .select()
      .from(users)
      .where(and(eq(users.id, userId), isNull(users.deletedAt)));
    if (user === undefined || user.status === "deleted") throw new PlatformError("not_found");
    return user;
  }

  /**
   * The account, locked until the transaction ends. Every change to an account's addresses takes its
   * row first and user_emails rows after, so two changes never wait on each other in opposite orders,
   * and each sees what the one before it left.
   */
  const lockedUser = (tx: Database, userId: string) => parts.users.locked(tx, userId as UserId);

  async function ownRow(tx: Database, userId: string, emailId: string): Promise<EmailRow> {
    const [row] = await tx
      .select()
      .from(userEmails)
      .where(and(eq(userEmails.id, emailId), eq(userEmails.userId, userId)));
    if (row === undefined) throw new PlatformError("not_found");
    return row;
  }

  /**
   * A pre-registration: an account that signed up with an address, never proved it, and never
   * signed in, while proof is required — what an attacker would leave behind to squat a victim's
   * address. Only such an account gives way to the address's proven owner; any other account that
   * holds the address as its primary one (invited, made with verification off, signed in) keeps it.
   */
  const preRegistration = (user: Pick<UserRow, "status" | "emailVerifiedAt" | "lastSignInAt">) =>
    config.emailVerification === "required" &&
    user.status === "active" &&
    user.emailVerifiedAt === null &&
    user.lastSignInAt === null;

  /** Other live accounts whose primary address this is. */
  const primaryHolders = (tx: Database, userId: string, normalized: string) =>
    tx
      .select()
      .from(users)
      .where(and(eq(users.emailNormalized, normalized), isNull(users.deletedAt), ne(users.id, userId)));

  /**
   * Whether this account cannot come to own the address: another live account has proven it (as
   * its primary address or another one), or holds it as its primary address and is not a
   * pre-registration (`byOperator`: an operator's word proves nothing about another account, so any
   * primary holder blocks).
   */
  async function heldElsewhere(
    tx: Database,
    userId: string,
    normalized: string,
    options: { byOperator?: boolean } = {},
  ): Promise<boolean> {
    for (const holder of await primaryHolders(tx, userId, normalized))
      if (options.byOperator === true || holder.emailVerifiedAt !== null || !preRegistration(holder)) return true;
    const [other] = await tx
      .select({ id: userEmails.id })
      .from(userEmails)
      .innerJoin(users, eq(users.id, userEmails.userId))
      .where(
        and(
          eq(userEmails.emailNormalized, normalized),
          isNotNull(userEmails.verifiedAt),
          ne(userEmails.userId, userId),
          isNull(users.deletedAt),
        ),
      );
    return other !== undefined;
  }

  /**
   * Proving an address ends the claims that block nobody's right to it: other accounts' unverified
   * added addresses, addresses deleted accounts had proven, and pre-registrations (deleted).
   */
  async function dropUnverifiedClaims(tx: Database, userId: string, normalized: string, request: RequestContext) {
    await tx
      .delete(userEmails)
      .where(
        and(
          eq(userEmails.emailNormalized, normalized),
          ne(userEmails.userId, userId),
          or(
            isNull(userEmails.verifiedAt),
            inArray(userEmails.userId, tx.select({ id: users.id }).from(users).where(isNotNull(users.deletedAt))),
          ),
        ),
      );
    const now = clock.now();
    for (const claimant of await primaryHolders(tx, userId, normalized)) {
      if (!preRegistration(claimant)) continue;
      await tx
        .update(users)
        .set({ status: "deleted", deletedAt: now, updatedAt: now })
        .where(eq(users.id, claimant.id));
      await sessions.changed(tx, { userId: claimant.id });
      await context.onUserDeactivated(tx, claimant.id);
      await audit.record(
        tx,
        {
          action: "user.deleted",
          actor: { type: "system" },
          target: { type: "user", id: claimant.id },
          metadata: { reason: "address_proven_by_another_account" },
        },
        request,
      );
    }
  }

  /**
   * An added address about to be verified, re-read once the address (`lockAddress`: an email change
   * to it queues there) and every account it concerns are locked: its own, and each one holding the
   * address, whose claims verifying drops. Locked in id order, in one statement, so two
   * verifications of one address queue instead of deadlocking; the one that waited finds its row
   * gone when the other dropped it (undefined).
   */
  async function lockClaim(tx: Database, userId: string, emailId: string): Promise<EmailRow | undefined> {
    const [claim] = await tx
      .select({ emailNormalized: userEmails.emailNormalized })
      .from(userEmails)
      .where(and(eq(userEmails.id, emailId), eq(userEmails.userId, userId)));
    if (claim === undefined) return undefined;
    await lockAddress(tx, claim.emailNormalized);
    const holders = tx
      .select({ id: userEmails.userId })
      .from(userEmails)
      .where(eq(userEmails.emailNormalized, claim.emailNormalized));
    await tx
      .select({ id: users.id })
      .from(users)
      .where(or(eq(users.id, userId), eq(users.emailNormalized, claim.emailNormalized), inArray(users.id, holders)))
      .orderBy(asc(users.id))
      .for("update");
    const [row] = await tx
      .select()
      .from(userEmails)
      .where(and(eq(userEmails.id, emailId), eq(userEmails.userId, userId)));
    return row;
  }

  async function verify(
    tx: Database,
    row: EmailRow,
    request: RequestContext,
    options: { byOperator?: boolean } = {},
  ): Promise<AccountEmail> {
    if (await heldElsewhere(tx, row.userId, row.emailNormalized, options))
      throw options.byOperator === true
        ? new PlatformError("email_taken", { detail: "Another account holds this address." })
        : new PlatformError("invalid_link");
    await dropUnverifiedClaims(tx, row.userId, row.emailNormalized, request);
    const [verified] = await tx
      .update(userEmails)
      .set({ verifiedAt: clock.now() })
      .where(eq(userEmails.id, row.id))
      .returning();
    return toView(verified!);
  }

  async function remove(tx: Database, userId: string, emailId: string): Promise<EmailRow> {
    // One removal at a time per account, so two cannot take out its last two verified addresses.
    const user = await lockedUser(tx, userId);
    const row = await ownRow(tx, userId, emailId);
    // The last verified address is the one the account is recovered through.
    if (row.verifiedAt !== null && user.emailVerifiedAt === null) {
      const [otherVerified] = await tx
        .select({ id: userEmails.id })
        .from(userEmails)
        .where(and(eq(userEmails.userId, userId), isNotNull(userEmails.verifiedAt), ne(userEmails.id, emailId)));
      if (otherVerified === undefined)
        throw new PlatformError("last_verified_email", {
          detail: "This is the account's only verified address: verify another one first.",
        });
    }
    await tx.delete(userEmails).where(eq(userEmails.id, emailId));
    return row;
  }

  /** Makes an added, verified address the account's primary one; the old primary stays as another. */
  function swapPrimary(session: SessionRow, emailId: string, request: RequestContext): Promise<AccountEmail> {
    return db.transaction(async (tx) => {
      // A swap that waited finds the address already moved: not_found, as a retry after it would.
      const user = await lockedUser(tx, session.userId);
      const row = await ownRow(tx, user.id, emailId);
      if (row.verifiedAt === null)
        throw new PlatformError("email_unverified", { detail: "Confirm the address before making it primary." });
      const now = clock.now();
      // Swap: the chosen address moves onto the account, the old primary becomes another address.
      await tx.delete(userEmails).where(eq(userEmails.id, row.id));
      await tx
        .update(users)
        .set({
          email: row.email,
          emailNormalized: row.emailNormalized,
          emailVerifiedAt: row.verifiedAt,
          updatedAt: now,
        })
        .where(eq(users.id, user.id));
      await sessions.changed(tx, { userId: user.id });
      await tx.insert(userEmails).values({
        id: newId("email", now.getTime()),
        userId: user.id,
        email: user.email,
        emailNormalized: user.emailNormalized,
        verifiedAt: user.emailVerifiedAt,
        createdAt: user.createdAt,
      });
      for (const to of [user.email, row.email])
        await outbox.queue(tx, { to, template: "auth.primary_email_changed", variables: { newEmail: row.email } });
      await audit.recordByUser(tx, user.id, "user.primary_email_changed", request, {
        metadata: { emailId: row.id },
      });
      return { ...toView(row), id: null, primary: true };
    });
  }

  return {
    async list(tx, userId) {
      const user = await activeUser(tx, userId);
      const others = await tx
        .select()
        .from(userEmails)
        .where(eq(userEmails.userId, userId))
        .orderBy(asc(userEmails.createdAt), asc(userEmails.id));
      return [primaryView(user), ...others.map(toView)];
    },

    async add(session, email, request) {
      sessions.assertRecent(session);
      const address = email.trim();
      if (address.length > 254 || !EMAIL.test(address))
        throw new PlatformError("validation_failed", {
          errors: [{ path: "email", message: "Must be an email address of at most 254 characters" }],
        });
      const normalized = normalizeEmail(address);
      const limit = await consumeRateLimit(db, clock, `mail:email_add:${session.userId}`, ADD_POLICY);
      if (!limit.allowed)
        throw new PlatformError("rate_limited", {
          headers: { "Retry-After": String(Math.max(1, Math.ceil(limit.retryAfterMs / 1000))) },
        });
      return db.transaction(async (tx) => {
        // Locked, so the same address added twice at once is found held, and the limit counts both.
        const user = await lockedUser(tx, session.userId);
        const held = await tx
          .select({ emailNormalized: userEmails.emailNormalized })
          .from(userEmails)
          .where(eq(userEmails.userId, user.id));
        if (normalized === user.emailNormalized || held.some((row) => row.emailNormalized === normalized))
          throw new PlatformError("email_already_added");
        if (held.length >= MAX_ADDRESSES)
          throw new PlatformError("validation_failed", {
            detail: `An account holds at most ${MAX_ADDRESSES} addresses besides its primary one.`,
            errors: [{ path: "email", message: "too many addresses" }],
          });
        const now = clock.now();
        const [row] = await tx
          .insert(userEmails)
          .values({
            id: newId("email", now.getTime()),
            userId: user.id,
            email: address,
            emailNormalized: normalized,
            createdAt: now,
          })
          .returning();
        if (!(await heldElsewhere(tx, user.id, normalized))) {
          const secret = await tokens.issueLink(tx, {
            userId: user.id as UserId,
            purpose: "email_add",
            ttlMs: LIFETIMES.emailAdd,
            target: row!.id,
          });
          await outbox.queue(tx, {
            to: address,
            template: "auth.email_add_confirm",
            variables: { url: buildLink(config, "/auth/confirm-email", { token: secret }), email: address },
          });
        }
        await outbox.queue(tx, { to: user.email, template: "auth.email_added_notice", variables: { email: address } });
        await audit.recordByUser(tx, user.id, "user.email_added", request, { metadata: { emailId: row!.id } });
        return toView(row!);
      });
    },

    async confirm(token, request) {
      try {
        return await db.transaction(async (tx) => {
          // The link names the added row: every account its verification concerns is locked before the
          // link is used. Removed since (or dropped by another account proving it), the link is dead.
          let row: EmailRow | undefined;
          const used = await tokens.consumeLink(tx, "email_add", token, async (link) => {
            if (link.target === null) await lockUser(tx, link.userId);
            else row = await lockClaim(tx, link.userId, link.target);
          });
          if (used === undefined || row === undefined) throw new PlatformError("invalid_link");
          // A suspended account proves nothing while suspended.
          const owner = await activeUser(tx, used.userId).catch(() => undefined);
          if (owner === undefined || owner.status !== "active") throw new PlatformError("invalid_link");
          if (row.verifiedAt !== null) return toView(row);
          const view = await verify(tx, row, request);
          await audit.recordByUser(tx, row.userId, "user.email_verified", request, { metadata: { emailId: row.id } });
          return view;
        });
      } catch (error) {
        // Proven by another account at the same moment: the unique index on verified addresses holds.
        if (isUniqueViolation(error)) throw new PlatformError("invalid_link");
        throw error;
      }
    },

    async makePrimary(session, emailId, request) {
      sessions.assertRecent(session);
      try {
        return await swapPrimary(session, emailId, request);
      } catch (error) {
        // Another account took the address as its primary one at the same moment (the unique index).
        if (isUniqueViolation(error)) throw new PlatformError("email_taken");
        throw error;
      }
    },

    async remove(session, emailId, request) {
      // Removing a verified address takes away a way to recover the account: a recent sign-in first.
      sessions.assertRecent(session);
      await db.transaction(async (tx) => {
        await remove(tx, session.userId, emailId);
        await audit.recordByUser(tx, session.userId, "user.email_removed", request, { metadata: { emailId } });
      });
    },

    async markVerifiedByOperator(userId, emailId, operatorId, request) {
      try {
        return await db.transaction(async (tx) => {
          const row = await lockClaim(tx, userId, emailId);
          await activeUser(tx, userId);
          if (row === undefined) throw new PlatformError("not_found");
          if (row.verifiedAt !== null) return toView(row);
          const view = await verify(tx, row, request, { byOperator: true });
          await audit.record(
            tx,
            {
              action: "user.email_verified",
              actor: { type: "user", id: operatorId },
              target: { type: "user", id: userId },
              metadata: { emailId, byOperator: true },
            },
            request,
          );
          return view;
        });
      } catch (error) {
        // Proven by another account at the same moment: the unique index on verified addresses holds.
        if (isUniqueViolation(error))
          throw new PlatformError("email_taken", { detail: "Another account holds this address." });
        throw error;
      }
    },

    async removeByOperator(userId, emailId, operatorId, request) {
      await db.transaction(async (tx) => {
        await remove(tx, userId, emailId);
        await audit.record(
          tx,
          {
            action: "user.email_removed",
            actor: { type: "user", id: operatorId },
            target: { type: "user", id: userId },
            metadata: { emailId },
          },
          request,
        );
      });
    },
  };
}
