// Operators' user management: search, read, suspend, unsuspend, unlock and delete any account.
// The HTTP routes under /v1/admin/users and the admin app both call this one service, so the
// permission checks (users:read, users:manage) live here and neither caller can skip them.
import {
  type AuditLog,
  type Clock,
  type Database,
  isUniqueViolation,
  PlatformError,
  type RequestContext,
  type SessionId,
  type UserId,
} from "@burrow/platform-core";
import {
  assertRecentAuthentication,
  type AccountEmail,
  type AccountEmails,
  type LinkedAccounts,
  type PublicLinkedAccount,
  type ApiKeyRow,
  type ApiKeys,
  type EmailFlows,
  type FactorRow,
  type Impersonation,
  type Factors,
  type Notices,
  type Phones,
  type ProfileChanges,
  type SessionRow,
  type Sessions,
  type UserRow,
  type UserSearch,
  type Users,
} from "@burrow/platform-auth";
import type { Organizations, PermissionResolver } from "@burrow/platform-rbac";

export const USERS_READ = "users:read";
export const USERS_MANAGE = "users:manage";
export const USERS_IMPERSONATE = "users:impersonate";

export interface NewUser {
  email: string;
  name?: string | null;
  /** Mail the account-setup link (72 hours, once) to the address; true by default. */
  sendSetupEmail?: boolean;
}

export interface UserAdministration {
  /**
   * Makes an account (users:manage) that its owner sets up through the mailed link: `invited` until
   * then, and unable to sign in. 409 `email_taken` when the address has an account.
   */
  create(actorId: string, input: NewUser, request: RequestContext): Promise<UserRow>;
  search(actorId: string, search: UserSearch): Promise<{ data: UserRow[]; nextCursor: string | null }>;
  get(actorId: string, userId: UserId): Promise<UserRow>;
  /** Name, avatar URL and metadata, as the user could change them; audited with the operator as actor. */
  update(actorId: string, userId: UserId, changes: ProfileChanges, request: RequestContext): Promise<UserRow>;
  suspend(actorId: string, userId: UserId, request: RequestContext): Promise<UserRow>;
  unsuspend(actorId: string, userId: UserId, request: RequestContext): Promise<UserRow>;
  unlock(actorId: string, userId: UserId, request: RequestContext): Promise<UserRow>;
  /** The user's live sessions, most recently active first (users:read). */
  sessions(actorId: string, userId: UserId): Promise<SessionRow[]>;
  /** Ends one session of the user; 404 when the user has no such live session. */
  revokeSession(actorId: string, userId: UserId, sessionId: string, request: RequestContext): Promise<void>;
  /**
   * Ends every session of the user (and the refresh tokens that hang on them); answers how many.
   * An operator acting through a session (`stepUp`) must have authenticated in the last 10 minutes.
   */
  revokeSessions(actorId: string, userId: UserId, request: RequestContext, stepUp?: StepUp): Promise<number>;
  /** What else the account holds (users:read): second factors, API keys (never secrets), organizations. */
  details(actorId: string, userId: UserId): Promise<UserDetails>;
  /** Revokes one of the user's API keys (users:manage); the entry names the operator. */
  revokeApiKey(actorId: string, userId: UserId, keyId: string, request: RequestContext): Promise<void>;
  /** Removes a second factor (users:manage, with a recent authentication); the user is mailed. */
  removeFactor(
    actorId: string,
    userId: UserId,
    factorId: string,
    request: RequestContext,
    stepUp?: StepUp,
  ): Promise<void>;
  /** Mails the user a password-reset link, as "forgot password" would (users:manage); audited. */
  sendPasswordReset(actorId: string, userId: UserId, request: RequestContext): Promise<void>;
  /** Marks the address verified, for an operator who confirmed it another way (users:manage); audited. */
  markEmailVerified(actorId: string, userId: UserId, request: RequestContext): Promise<UserRow>;
  /** Marks one of the user's added addresses verified (users:manage; audited with the operator as actor). */
  markAddressVerified(actorId: string, userId: UserId, emailId: string, request: RequestContext): Promise<AccountEmail>;
  /** Removes one of the user's added addresses (users:manage; never their last verified one). */
  removeAddress(actorId: string, userId: UserId, emailId: string, request: RequestContext): Promise<void>;
  /**
   * A one-time link (5 minutes) that starts a 30-minute session as the user, in the browser that
   * opens it (users:impersonate, with a recent authentication). Never as oneself, as an operator
   * (anyone holding a platform permission) or as an account that is not active.
   */
  impersonate(
    actorId: string,
    userId: UserId,
    request: RequestContext,
    stepUp?: StepUp,
  ): Promise<{ url: string; expiresAt: Date }>;
  /** Deletes the account; like revokeSessions, a session's operator must have authenticated recently. */
  delete(actorId: string, userId: UserId, request: RequestContext, stepUp?: StepUp): Promise<void>;
}

/**
 * The operator's session, for the actions that need a recent authentication (deleting a user, ending
 * all their sessions). An API key acts for automation: it has no session to step up and passes none.
 */
export type StepUp = Pick<SessionRow, "authenticatedAt">;

export interface UserDetails {
  factors: Pick<FactorRow, "id" | "type" | "label" | "createdAt" | "confirmedAt" | "lastUsedAt">[];
  apiKeys: Pick<
    ApiKeyRow,
    "id" | "name" | "prefix" | "scopes" | "createdAt" | "lastUsedAt" | "expiresAt" | "revokedAt"
  >[];
  organizations: { id: string; name: string; slug: string; role: string }[];
  phones: { id: string; phone: string; isPrimary: boolean; verifiedAt: Date | null; createdAt: Date }[];
  /** The primary address first, then the others the user added. */
  emails: AccountEmail[];
  /** Social sign-in accounts linked to the user (no provider tokens). */
  linkedAccounts: PublicLinkedAccount[];
}

export function createUserAdministration(options: {
  db: Database;
  users: Pick<
    Users,
    | "get"
    | "locked"
    | "search"
    | "updateProfile"
    | "suspend"
    | "unsuspend"
    | "unlock"
    | "softDelete"
    | "findByEmail"
    | "claimAddress"
    | "insert"
    | "markEmailVerified"
  >;
  notices: Pick<Notices, "sendAccountSetup">;
  factors: Pick<Factors, "list" | "removeByOperator">;
  apiKeys: Pick<ApiKeys, "list" | "revoke">;
  organizations: Pick<Organizations, "listMine">;
  flows: Pick<EmailFlows, "request">;
  phones: Pick<Phones, "list">;
  emails: Pick<AccountEmails, "list" | "markVerifiedByOperator" | "removeByOperator">;
  linkedAccounts: Pick<LinkedAccounts, "list">;
  impersonation: Pick<Impersonation, "issueLink">;
  sessions: Pick<Sessions, "revokeAll" | "list" | "revoke">;
  audit: Pick<AuditLog, "record">;
  resolver: Pick<PermissionResolver, "can" | "resolve">;
  clock: Clock;
}): UserAdministration {
  const { db, users, sessions, audit, resolver, clock, notices } = options;
  const recent = (stepUp: StepUp | undefined) => {
    if (stepUp !== undefined) assertRecentAuthentication(stepUp, clock.now());
  };

  async function authorize(actorId: string, permission: string): Promise<void> {
    if (!(await resolver.can(actorId, permission)))
      throw new PlatformError("forbidden", { detail: `This needs the ${permission} permission.` });
  }
  /** A deleted account is gone for operators too: 404, like an id that never existed. */
  async function existing(userId: UserId): Promise<UserRow> {
    const row = await users.get(db, userId);
    if (row === undefined || row.status === "deleted") throw new PlatformError("not_found");
    return row;
  }
  /** Suspending or deleting oneself would lock the operator out mid-action: refused. */
  function notSelf(actorId: string, userId: UserId): void {
    if (actorId === userId)
      throw new PlatformError("forbidden", { detail: "Operators cannot suspend or delete their own account here." });
  }
  async function manage(
    actorId: string,
    userId: UserId,
    change: (tx: Database, row: UserRow) => Promise<void>,
  ): Promise<UserRow> {
    await authorize(actorId, USERS_MANAGE);
    // The live account's row locked: concurrent changes to one user queue behind it and each sees what
    // the one before left, so a second unsuspend is `not_suspended` (not a second success and audit
    // entry) and a change racing a deletion is a 404.
    await db.transaction(async (tx) => change(tx, await users.locked(tx, userId)));
    return existing(userId);
  }

  return {
    async create(actorId, input, request) {
      await authorize(actorId, USERS_MANAGE);
      const email = input.email.trim();
      if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
        throw new PlatformError("validation_failed", { errors: [{ path: "email", message: "Not an email address" }] });
      const name = input.name?.trim() || null;
      if (name !== null && name.length > 200)
        throw new PlatformError("validation_failed", { errors: [{ path: "name", message: "At most 200 characters" }] });
      try {
        return await db.transaction(async (tx) => {
          const existing = await users.claimAddress(tx, email);
          if (existing !== undefined && existing.status !== "deleted") throw new PlatformError("email_taken");
          const user = await users.insert(tx, { email, name, status: "invited" });
          await audit.record(
            tx,
            {
              action: "user.created",
              actor: { type: "user", id: actorId },
              target: { type: "user", id: user.id },
              metadata: { setupEmail: input.sendSetupEmail !== false },
            },
            request,
          );
          if (input.sendSetupEmail !== false) await notices.sendAccountSetup(tx, user);
          return user;
        });
      } catch (error) {
        // The check above cannot see an account being made at the same moment (another operator, a
        // sign-up): the unique index refuses the second, and it answers as if the check had seen it.
        if (isUniqueViolation(error)) throw new PlatformError("email_taken");
        throw error;
      }
    },
    async search(actorId, search) {
      await authorize(actorId, USERS_READ);
      return users.search(db, search);
    },
    async get(actorId, userId) {
      await authorize(actorId, USERS_READ);
      return existing(userId);
    },
    update: (actorId, userId, changes, request) =>
      manage(actorId, userId, async (tx) => {
        await users.updateProfile(tx, userId, changes, request, actorId as UserId);
      }),
    suspend: (actorId, userId, request) =>
      manage(actorId, userId, async (tx, row) => {
        notSelf(actorId, userId);
        if (row.status === "suspended") return;
        await users.suspend(tx, userId, actorId as UserId, request);
      }),
    unsuspend: (actorId, userId, request) =>
      manage(actorId, userId, (tx) => users.unsuspend(tx, userId, actorId as UserId, request)),
    unlock: (actorId, userId, request) =>
      manage(actorId, userId, (tx) => users.unlock(tx, userId, actorId as UserId, request)),
    async details(actorId, userId) {
      await authorize(actorId, USERS_READ);
      await existing(userId);
      const [factors, keys, organizations, phones, emails, linkedAccounts] = [
        await options.factors.list(db, userId),
        await options.apiKeys.list(db, userId),
        await options.organizations.listMine(db, userId),
        await options.phones.list(db, userId),
        await options.emails.list(db, userId),
        await options.linkedAccounts.list(db, userId),
      ];
      return {
        factors: factors.map(({ id, type, label, createdAt, confirmedAt, lastUsedAt }) => ({
          id,
          type,
          label,
          createdAt,
          confirmedAt,
          lastUsedAt,
        })),
        apiKeys: keys.map(({ id, name, prefix, scopes, createdAt, lastUsedAt, expiresAt, revokedAt }) => ({
          id,
          name,
          prefix,
          scopes,
          createdAt,
          lastUsedAt,
          expiresAt,
          revokedAt,
        })),
        organizations: organizations.map((org) => ({ id: org.id, name: org.name, slug: org.slug, role: org.role })),
        phones: phones.map(({ id, phone, isPrimary, verifiedAt, createdAt }) => ({
          id,
          phone,
          isPrimary,
          verifiedAt,
          createdAt,
        })),
        emails,
        linkedAccounts,
      };
    },
    async markAddressVerified(actorId, userId, emailId, request) {
      await authorize(actorId, USERS_MANAGE);
      await existing(userId);
      return options.emails.markVerifiedByOperator(userId, emailId, actorId, request);
    },
    async removeAddress(actorId, userId, emailId, request) {
      await authorize(actorId, USERS_MANAGE);
      await existing(userId);
      await options.emails.removeByOperator(userId, emailId, actorId, request);
    },
    async revokeApiKey(actorId, userId, keyId, request) {
      await authorize(actorId, USERS_MANAGE);
      await existing(userId);
      await options.apiKeys.revoke(userId, keyId, request, actorId);
    },
    async removeFactor(actorId, userId, factorId, request, stepUp) {
      await authorize(actorId, USERS_MANAGE);
      recent(stepUp);
      await existing(userId);
      await options.factors.removeByOperator(userId, factorId, actorId, request);
    },
    async sendPasswordReset(actorId, userId, request) {
      await authorize(actorId, USERS_MANAGE);
      const row = await existing(userId);
      await options.flows.request("password_reset", row.email);
      await audit.record(
        db,
        {
          action: "user.password_reset_sent",
          actor: { type: "user", id: actorId },
          target: { type: "user", id: row.id },
        },
        request,
      );
    },
    markEmailVerified: (actorId, userId, request) =>
      manage(actorId, userId, async (tx, row) => {
        if (row.emailVerifiedAt !== null) return;
        await users.markEmailVerified(tx, userId);
        await audit.record(
          tx,
          {
            action: "user.email_verified",
            actor: { type: "user", id: actorId },
            target: { type: "user", id: row.id },
            metadata: { by: "operator" },
          },
          request,
        );
      }),
    async impersonate(actorId, userId, request, stepUp) {
      await authorize(actorId, USERS_IMPERSONATE);
      recent(stepUp);
      if (actorId === userId)
        throw new PlatformError("forbidden", { detail: "Operators cannot impersonate themselves." });
      const row = await existing(userId);
      if (row.status !== "active")
        throw new PlatformError("conflict", { detail: "Only an active account can be impersonated." });
      if ((await resolver.resolve(userId)).patterns.size > 0)
        throw new PlatformError("forbidden", {
          detail: "Operators (anyone with a platform permission) cannot be impersonated.",
        });
      return db.transaction(async (tx) => {
        const link = await options.impersonation.issueLink(tx, userId, actorId);
        await audit.record(
          tx,
          {
            action: "user.impersonation_link_created",
            actor: { type: "user", id: actorId },
            target: { type: "user", id: row.id },
            metadata: { expiresAt: link.expiresAt.toISOString() },
          },
          request,
        );
        return link;
      });
    },
    async sessions(actorId, userId) {
      await authorize(actorId, USERS_READ);
      await existing(userId);
      return sessions.list(db, userId);
    },
    async revokeSession(actorId, userId, sessionId, request) {
      await authorize(actorId, USERS_MANAGE);
      await existing(userId);
      await db.transaction(async (tx) => {
        if (!(await sessions.revoke(tx, userId, sessionId as SessionId, "revoked_by_operator")))
          throw new PlatformError("not_found");
        await audit.record(
          tx,
          {
            action: "session.revoked",
            actor: { type: "user", id: actorId },
            target: { type: "session", id: sessionId },
            metadata: { userId },
          },
          request,
        );
      });
    },
    async revokeSessions(actorId, userId, request, stepUp) {
      await authorize(actorId, USERS_MANAGE);
      recent(stepUp);
      const row = await existing(userId);
      return db.transaction(async (tx) => {
        const count = await sessions.revokeAll(tx, userId, "revoked_by_operator");
        await audit.record(
          tx,
          {
            action: "user.sessions_revoked",
            actor: { type: "user", id: actorId },
            target: { type: "user", id: row.id },
            metadata: { sessions: count },
          },
          request,
        );
        return count;
      });
    },
    async delete(actorId, userId, request, stepUp) {
      await authorize(actorId, USERS_MANAGE);
      recent(stepUp);
      notSelf(actorId, userId);
      await existing(userId);
      // softDelete changes only a live row: of concurrent deletions one succeeds and the others are 404s.
      await db.transaction((tx) => users.softDelete(tx, userId, actorId as UserId, request));
    },
  };
}
