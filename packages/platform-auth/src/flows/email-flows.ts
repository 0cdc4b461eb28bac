import { and, eq, isNull, ne } from "drizzle-orm";
import {
  consumeRateLimit,
  enqueueJob,
  isUniqueViolation,
  PlatformError,
  type Database,
  type JobDefinition,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import { normalizePassword } from "../passwords/policy.ts";
import { userEmails, users } from "../schema.ts";
import type { Sessions, SessionRow } from "../sessions/sessions.ts";
import type { Accounts } from "../sign-in/accounts.ts";
import type { SignInThrottle } from "../sign-in/throttle.ts";
import type { OneTimeTokens } from "../tokens/tokens.ts";
import { LIFETIMES } from "./lifetimes.ts";
import type { Notices } from "./notices.ts";
import type { SignInCompletion, SignInOutcome } from "../sign-in/complete.ts";
import type { Challenges } from "../mfa/challenges.ts";
import type { ApiKeys } from "../tokens/api-keys.ts";
import { TOKEN_PURPOSES } from "../schema.ts";
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import {
  holdsAddress,
  lockAddress,
  lockUser,
  normalizeEmail,
  toPublicUser,
  type PublicUser,
  type UserRow,
  type Users,
} from "../users/users.ts";
import { buildLink, checkRedirect } from "./links.ts";

const MINUTE = 60_000;

/** Mail asked for by address: at most 3 in a burst per account and kind, then one per 10 minutes. */
const MAIL_REQUEST_POLICY = { count: 3, windowMs: 10 * MINUTE };

export const EMAIL_REQUEST_JOB = "auth.email_request";
export type EmailRequestKind = "verify_email" | "password_reset" | "magic_link" | "email_otp";
interface EmailRequest {
  kind: EmailRequestKind;
  email: string;
  redirectTo?: string;
}

export interface EmailFlows {
  /**
   * Forgot password, magic link, email code, resend verification: one insert and a 202, whether or
   * not the address has an account — the lookup and the mail happen in a job, so neither the answer
   * nor its timing differ.
   */
  request(kind: EmailRequestKind, email: string, options?: { redirectTo?: string }): Promise<void>;
  /**
   * Confirms the address. Every unexpired link mailed to the account's current address works, even
   * after a newer one was sent; each works once. The first proof of an address ends what was set up
   * on the account before it — the password, sessions and API keys, possibly an impostor's — unless
   * the confirmer also gives the account's password (whoever set it is then the address's owner).
   */
  verifyEmail(token: string, request: RequestContext, options?: { password?: string }): Promise<PublicUser>;
  resetPassword(token: string, newPassword: string, request: RequestContext): Promise<void>;
  signInWithMagicLink(token: string, request: RequestContext): Promise<SignInOutcome>;
  signInWithEmailCode(email: string, code: string, request: RequestContext): Promise<SignInOutcome>;
  /**
   * Marks the session as recently authenticated after the password, a TOTP code or a passkey is
   * given again, and gives it a new token (returned; the old one stops working).
   */
  reauthenticate(
    session: SessionRow,
    proof:
      | { password: string }
      | { totp: string }
      | { passkey: { ceremonyId: string; response: AuthenticationResponseJSON } },
    request: RequestContext,
  ): Promise<{ token: string }>;
  requestEmailChange(session: SessionRow, newEmail: string, request: RequestContext): Promise<void>;
  confirmEmailChange(token: string, request: RequestContext): Promise<PublicUser>;
  completeAccountSetup(token: string, password: string, request: RequestContext): Promise<void>;
  /**
   * "This wasn't me", from a new-device mail: ends every session of the account (refresh tokens go
   * with them) and every other such link. The password stays; the page offers to reset it.
   */
  disownSignIn(token: string, request: RequestContext): Promise<{ sessionsRevoked: number }>;
  /**
   * Another proof of the address than a mailed link (a provider that verified it and is trusted to):
   * when it is the address's first proof, the same rules as `verifyEmail` without the password.
   */
  proveAddress(tx: Database, user: UserRow, request: RequestContext): Promise<void>;
  /** The job that serves `request()`. */
  requestJob: JobDefinition;
}

export function createEmailFlows(
  context: AuthContext,
  parts: {
    users: Users;
    sessions: Sessions;
    accounts: Accounts;
    throttle: SignInThrottle;
    tokens: OneTimeTokens;
    notices: Notices;
    completion: SignInCompletion;
    challenges: Challenges;
    apiKeys: ApiKeys;
  },
): EmailFlows {
  const { db, config, clock, audit, email, hasher } = context;
  const { tokens, sessions, throttle } = parts;
  const link = (path: string, token: string) => buildLink(config, path, { token });
  const mail = (tx: Database, to: string, template: string, variables: Record<string, string>) =>
    email.queue(tx, { to, template, variables });

  async function activeUserByToken(tx: Database, userId: string): Promise<UserRow> {
    const [user] = await tx
      .select()
      .from(users)
      .where(and(eq(users.id, userId), isNull(users.deletedAt)));
    if (user === undefined || user.status === "deleted" || user.status === "suspended")
      throw new PlatformError("invalid_link");
    return user;
  }

  /** A verification link proves the address it was mailed to, not one the account has moved to since. */
  const provesAddress = (link: { target: string | null }, user: UserRow) =>
    link.target === null || link.target === user.emailNormalized;
  const wrongPassword = () =>
    new PlatformError("invalid_credentials", {
      detail: "That is not the account's password. Leave it out to confirm the address and choose a new one.",
    });

  /**
   * The password hash a verification link's confirmer showed the password of, verified before the
   * link is used (no lock is held meanwhile); undefined when the address is proven already, so
   * nothing is checked. 400 `invalid_link` for a link its account could not use; 401
   * `invalid_credentials` for a wrong password.
   */
  async function shownPassword(token: string, password: string): Promise<string | undefined> {
    const link = await tokens.findLink(db, "verify_email", token);
    if (link === undefined) throw new PlatformError("invalid_link");
    const user = await activeUserByToken(db, link.userId);
    if (!provesAddress(link, user)) throw new PlatformError("invalid_link");
    if (user.emailVerifiedAt !== null) return undefined;
    const hash = await parts.accounts.passwordHash(db, user.id as UserId);
    if (hash === undefined || !(await hasher.verify(normalizePassword(password), hash))) throw wrongPassword();
    return hash;
  }

  /**
   * A new password for the account a live link names, checked and hashed before the link is used
   * (Argon2id takes tens of milliseconds: no lock is held meanwhile). 400 `invalid_link` for a link
   * that is not live or whose account could not use it, before any hashing.
   */
  async function preparedForLink(token: string, purpose: "password_reset" | "account_setup", password: string) {
    const link = await tokens.findLink(db, purpose, token);
    if (link === undefined) throw new PlatformError("invalid_link");
    const user = await activeUserByToken(db, link.userId);
    return parts.accounts.preparePassword(db, { id: user.id as UserId, email: user.email, name: user.name }, password);
  }

  /**
   * The address is proven for the first time. Anything set up on the account before that could be an
   * impostor's (pre-registration takeover: sign up with someone's address, wait for them to prove
   * it): unless the prover showed the password, the password, every session, API key and second
   * factor go, and the owner is mailed a link to choose a password of their own.
   */
  async function firstProof(
    tx: Database,
    user: UserRow,
    request: RequestContext,
    options: { passwordShown: boolean },
  ): Promise<void> {
    const now = clock.now();
    await tx
      .update(users)
      .set({ emailVerifiedAt: now, updatedAt: now })
      .where(and(eq(users.id, user.id), isNull(users.emailVerifiedAt)));
    await sessions.changed(tx, { userId: user.id });
    if (options.passwordShown) return;
    const userId = user.id as UserId;
    if (!(await parts.accounts.removePassword(tx, userId))) return;
    const sessionsRevoked = await sessions.revokeAll(tx, userId, "address_claimed");
    const keysRevoked = await parts.apiKeys.revokeAllFor(tx, userId);
    // Second factors stay: they guard the account against whoever reads its mail. One an impostor
    // enrolled shuts them out too (no password, no sessions); the owner asks an operator to reset it.
    const secret = await tokens.issueLink(tx, { userId, purpose: "password_reset", ttlMs: LIFETIMES.passwordReset });
    await mail(tx, user.email, "security.account_claimed", { url: link("/auth/reset-password", secret) });
    await audit.recordByUser(tx, user.id, "user.address_claimed", request, {
      metadata: { sessionsRevoked, keysRevoked },
    });
  }

  /** A first factor by mail: receiving it proves the address; then a session or an MFA challenge. */
  async function passedByMail(
    tx: Database,
    user: UserRow,
    method: string,
    request: RequestContext,
    redirectTo: string | null = null,
  ): Promise<SignInOutcome> {
    if (user.emailVerifiedAt === null) await firstProof(tx, user, request, { passwordShown: false });
    return parts.completion.afterFirstFactor(tx, user.id, method, request, { redirectTo });
  }

  async function serveRequest(payload: EmailRequest): Promise<void> {
    const user = await parts.users.findByEmail(db, payload.email);
    if (user === undefined || user.status !== "active") return;
    const allowed = await consumeRateLimit(db, clock, `mail:${payload.kind}:${user.id}`, MAIL_REQUEST_POLICY);
    if (!allowed.allowed) return;
    await db.transaction(async (tx) => {
      switch (payload.kind) {
        case "verify_email":
          if (user.emailVerifiedAt === null) await parts.notices.sendVerification(tx, user);
          return;
        case "password_reset": {
          const secret = await tokens.issueLink(tx, {
            userId: user.id as UserId,
            purpose: "password_reset",
            ttlMs: LIFETIMES.passwordReset,
          });
          await mail(tx, user.email, "auth.password_reset", { url: link("/auth/reset-password", secret) });
          return;
        }
        case "magic_link": {
          const secret = await tokens.issueLink(tx, {
            userId: user.id as UserId,
            purpose: "magic_link",
            ttlMs: LIFETIMES.magicLink,
            target: payload.redirectTo ?? null,
          });
          await mail(tx, user.email, "auth.magic_link", { url: link("/auth/magic-link", secret) });
          return;
        }
        case "email_otp": {
          const code = await tokens.issueCode(tx, {
            userId: user.id as UserId,
            purpose: "email_otp",
            ttlMs: LIFETIMES.emailCode,
          });
          await mail(tx, user.email, "auth.otp_code", { code });
          return;
        }
      }
    });
  }

  return {
    async request(kind, address, options = {}) {
      const redirectTo = kind === "magic_link" ? checkRedirect(config, options.redirectTo) : undefined;
      const payload: EmailRequest = {
        kind,
        email: normalizeEmail(address),
        ...(redirectTo === undefined ? {} : { redirectTo }),
      };
      await enqueueJob(db, clock, EMAIL_REQUEST_JOB, payload, { maxAttempts: 3 });
    },

    requestJob: { backoff: { baseMs: 10_000, maxMs: 60_000 }, run: (payload) => serveRequest(payload as EmailRequest) },

    async verifyEmail(token, request, options = {}) {
      // A password given is verified before anything is locked, against the hash read then; a wrong
      // one leaves the link usable.
      const shown = options.password === undefined ? undefined : await shownPassword(token, options.password);
      return db.transaction(async (tx) => {
        const row = await tokens.consumeLink(tx, "verify_email", token);
        if (row === undefined) throw new PlatformError("invalid_link");
        const user = await activeUserByToken(tx, row.userId);
        if (!provesAddress(row, user)) throw new PlatformError("invalid_link");
        if (user.emailVerifiedAt === null) {
          let passwordShown = false;
          if (options.password !== undefined) {
            // Changed since it was verified (a change, a sign-in's re-hash): verified again against what
            // is stored now.
            const current = await parts.accounts.passwordHash(tx, user.id as UserId);
            if (
              current === undefined ||
              (current !== shown && !(await hasher.verify(normalizePassword(options.password), current)))
            )
              throw wrongPassword();
            passwordShown = true;
          }
          await firstProof(tx, user, request, { passwordShown });
        }
        const [updated] = await tx.select().from(users).where(eq(users.id, user.id));
        await audit.recordByUser(tx, user.id, "user.email_verified", request);
        return toPublicUser(updated!);
      });
    },

    async resetPassword(token, newPassword, request) {
      // The new password is checked and hashed before anything is locked; a refused one (policy,
      // history) leaves the link for another try. Then the link is used, in one transaction with the
      // password's store (checked again there only if the password changed meanwhile).
      const prepared = await preparedForLink(token, "password_reset", newPassword);
      await db.transaction(async (tx) => {
        const row = await tokens.consumeLink(tx, "password_reset", token);
        if (row === undefined) throw new PlatformError("invalid_link");
        const user = await activeUserByToken(tx, row.userId);
        await parts.accounts.setPassword(tx, { id: user.id as UserId, email: user.email, name: user.name }, prepared);
        const revoked = await sessions.revokeAll(tx, user.id as UserId, "password_reset");
        await tokens.revokeAll(tx, user.id as UserId, "email_change");
        await throttle.recordSuccess(tx, user.emailNormalized);
        await parts.notices.sendPasswordChanged(tx, user);
        await audit.recordByUser(tx, user.id, "user.password_reset", request, {
          metadata: { sessionsRevoked: revoked },
        });
      });
    },

    async proveAddress(tx, user, request) {
      if (user.emailVerifiedAt === null) await firstProof(tx, user, request, { passwordShown: false });
    },

    async signInWithMagicLink(token, request) {
      return parts.completion.transaction(async (tx) => {
        const row = await tokens.consumeLink(tx, "magic_link", token);
        if (row === undefined) throw new PlatformError("invalid_link");
        // A deleted or not-yet-set-up account is an unknown one: its link answers as an unknown link does.
        // Every other status (suspended, locked) is the completion's to check, as on every path.
        const [user] = await tx.select().from(users).where(eq(users.id, row.userId));
        if (user === undefined || user.deletedAt !== null || user.status === "deleted" || user.status === "invited")
          throw new PlatformError("invalid_link");
        return passedByMail(tx, user, "magic_link", request, row.target);
      });
    },

    async signInWithEmailCode(address, code, request) {
      const typed = normalizeEmail(address);
      const user = await parts.users.findByEmail(db, typed);
      // Guessing codes meets the same lockout as guessing passwords, on the account's primary address.
      const key = user?.emailNormalized ?? typed;
      const slot = await throttle.reserve(db, key);
      const signedIn =
        user === undefined
          ? undefined
          : await parts.completion.transaction(async (tx) => {
              const row = await tokens.consumeCode(tx, { userId: user.id as UserId, purpose: "email_otp", code });
              return row === undefined ? undefined : passedByMail(tx, user, "email_otp", request);
            });
      if (signedIn === undefined) {
        await throttle.recordFailure(db, key, slot);
        await audit.record(
          db,
          {
            action: "user.sign_in_failed",
            actor: { type: "anonymous" },
            ...(user ? { target: { type: "user", id: user.id } } : {}),
            outcome: "failure",
            metadata: { method: "email_otp" },
          },
          request,
        );
        throw new PlatformError("invalid_code");
      }
      await throttle.recordSuccess(db, key);
      return signedIn;
    },

    async reauthenticate(session, proof, request) {
      const user = await parts.users.get(db, session.userId as UserId);
      if (user === undefined) throw new PlatformError("unauthenticated");
      const method = "password" in proof ? "password" : "totp" in proof ? "totp" : "passkey";
      if ("password" in proof) {
        // The password meets the address's lockout, as at sign-in.
        const slot = await throttle.reserve(db, user.emailNormalized);
        const hash = await parts.accounts.passwordHash(db, user.id as UserId);
        const valid =
          hash === undefined
            ? (await hasher.verifyDummy(normalizePassword(proof.password)), false)
            : await hasher.verify(normalizePassword(proof.password), hash);
        if (!valid) {
          await throttle.recordFailure(db, user.emailNormalized, slot);
          await audit.recordByUser(db, user.id, "user.reauthentication_failed", request, { outcome: "failure" });
          throw new PlatformError("invalid_credentials");
        }
        await throttle.recordSuccess(db, user.emailNormalized);
      } else {
        // A second factor meets the second-factor lockout, as in an MFA challenge.
        const second =
          "totp" in proof
            ? { method: "totp" as const, code: proof.totp }
            : { method: "passkey" as const, assertion: proof.passkey };
        if (!(await parts.challenges.check(user.id, { ...second, purpose: "reauthentication" }, request))) {
          await audit.recordByUser(db, user.id, "user.reauthentication_failed", request, { outcome: "failure" });
          throw new PlatformError(method === "totp" ? "invalid_code" : "invalid_credentials");
        }
      }
      await sessions.markAuthenticated(db, session, method);
      const token = await sessions.renew(db, session.id);
      await audit.record(
        db,
        {
          action: "user.reauthenticated",
          actor: { type: "user", id: user.id },
          target: { type: "session", id: session.id },
          metadata: { method },
        },
        request,
      );
      return { token };
    },

    async requestEmailChange(session, newEmail, request) {
      sessions.assertRecent(session);
      const user = await parts.users.get(db, session.userId as UserId);
      if (user === undefined) throw new PlatformError("unauthenticated");
      const target = newEmail.trim();
      if (normalizeEmail(target) === user.emailNormalized)
        throw new PlatformError("validation_failed", {
          detail: "That is already your email address.",
          errors: [{ path: "newEmail", message: "unchanged" }],
        });
      // Each request mails an address the caller chooses: limited like every mail asked for.
      const limit = await consumeRateLimit(db, clock, `mail:email_change:${user.id}`, MAIL_REQUEST_POLICY);
      if (!limit.allowed)
        throw new PlatformError("rate_limited", {
          headers: { "Retry-After": String(Math.max(1, Math.ceil(limit.retryAfterMs / 1000))) },
        });
      await db.transaction(async (tx) => {
        const secret = await tokens.issueLink(tx, {
          userId: user.id as UserId,
          purpose: "email_change",
          ttlMs: LIFETIMES.emailChange,
          target,
        });
        await mail(tx, target, "auth.email_change_confirm", {
          url: link("/auth/confirm-email-change", secret),
          newEmail: target,
        });
        await mail(tx, user.email, "auth.email_changed_notice", { newEmail: target });
        await audit.recordByUser(tx, user.id, "user.email_change_requested", request);
      });
    },

    async confirmEmailChange(token, request) {
      try {
        return await db.transaction(async (tx) => {
          // The link is used under the new address's lock, then the account's: another account proving
          // that address at once (an added address's verification) queues on the first, and a
          // make-primary of it, or a use of one of the links revoked below, on the second, instead of
          // both succeeding or deadlocking.
          const row = await tokens.consumeLink(tx, "email_change", token, async (link) => {
            if (link.target !== null) await lockAddress(tx, normalizeEmail(link.target));
            await lockUser(tx, link.userId);
          });
          if (row === undefined || row.target === null) throw new PlatformError("invalid_link");
          const user = await activeUserByToken(tx, row.userId);
          const normalized = normalizeEmail(row.target);
          // Taken when another account has it as its primary address or has proven it as another one.
          const [taken] = await tx
            .select({ id: users.id })
            .from(users)
            .where(and(holdsAddress(normalized), isNull(users.deletedAt), ne(users.id, user.id)));
          if (taken !== undefined) throw new PlatformError("email_taken");
          // One of the account's own other addresses becomes its primary one: it is not listed twice.
          await tx
            .delete(userEmails)
            .where(and(eq(userEmails.userId, user.id), eq(userEmails.emailNormalized, normalized)));
          const now = clock.now();
          const [updated] = await tx
            .update(users)
            .set({ email: row.target, emailNormalized: normalized, emailVerifiedAt: now, updatedAt: now })
            .where(eq(users.id, user.id))
            .returning();
          await sessions.changed(tx, { userId: user.id });
          // Links and codes mailed to the old address must not outlive it.
          for (const purpose of TOKEN_PURPOSES.filter((kind) => kind !== "phone_verify"))
            await tokens.revokeAll(tx, user.id as UserId, purpose);
          await audit.recordByUser(tx, user.id, "user.email_changed", request);
          return toPublicUser(updated!);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new PlatformError("email_taken");
        throw error;
      }
    },

    async completeAccountSetup(token, password, request) {
      // As a reset: the password is checked and hashed first, without a lock.
      const prepared = await preparedForLink(token, "account_setup", password);
      await db.transaction(async (tx) => {
        const row = await tokens.consumeLink(tx, "account_setup", token);
        if (row === undefined) throw new PlatformError("invalid_link");
        const [user] = await tx
          .select()
          .from(users)
          .where(and(eq(users.id, row.userId), isNull(users.deletedAt)));
        if (user === undefined || (user.status !== "invited" && user.status !== "active"))
          throw new PlatformError("invalid_link");
        await parts.accounts.setPassword(tx, { id: user.id as UserId, email: user.email, name: user.name }, prepared);
        const now = clock.now();
        await tx
          .update(users)
          .set({ status: "active", emailVerifiedAt: user.emailVerifiedAt ?? now, updatedAt: now })
          .where(eq(users.id, user.id));
        await sessions.changed(tx, { userId: user.id });
        await audit.recordByUser(tx, user.id, "user.account_set_up", request);
      });
    },

    async disownSignIn(token, request) {
      return db.transaction(async (tx) => {
        const row = await tokens.consumeLink(tx, "disown_sign_in", token);
        if (row === undefined) throw new PlatformError("invalid_link");
        const userId = row.userId as UserId;
        const sessionsRevoked = await sessions.revokeAll(tx, userId, "sign_in_disowned");
        await tokens.revokeAll(tx, userId, "disown_sign_in");
        await audit.recordByUser(tx, userId, "user.sign_in_disowned", request, { metadata: { sessionsRevoked } });
        return { sessionsRevoked };
      });
    },
  };
}
