import { and, desc, eq, isNull, sql } from "drizzle-orm";
import {
  compiled,
  isUniqueViolation,
  PlatformError,
  together,
  type Database,
  type RequestContext,
  type SessionId,
  type UserId,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import { normalizePassword, checkPasswordPolicy, serviceWords } from "../passwords/policy.ts";
import { credentialsPassword, passwordHistory, users } from "../schema.ts";
import type { SessionRow, Sessions } from "../sessions/sessions.ts";
import { holdsAddress, normalizeEmail, type PublicUser, type Users } from "../users/users.ts";
import type { Notices } from "../flows/notices.ts";
import type { SignInCompletion, SignInOutcome, SignInResult } from "./complete.ts";
import { watchForCredentialStuffing, type SignInThrottle } from "./throttle.ts";

export interface SignedIn {
  user: PublicUser;
  session: SessionRow;
  /** `ses_<id>.<secret>`: for the cookie or a Bearer header. Shown once. */
  token: string;
}

export type SignUpResult =
  /** Verification is required: the same answer whether or not the address already had an account. */
  { kind: "verification_required" } | ({ kind: "signed_in" } & SignedIn);

declare const preparedBrand: unique symbol;
/**
 * A new password checked and hashed by `preparePassword`, for `setPassword`: opaque, and only
 * accepted for the account (or, for an account not made yet, the address) it was checked for.
 */
export type PreparedPassword = { readonly [preparedBrand]: true };

/** What a prepared password holds: its hash, the stored one it replaces (`undefined`: none yet), what it was checked for. */
interface Prepared {
  hash: string;
  replaces: { hash: string; updatedAt: Date } | undefined;
  user: { id: UserId | undefined; email: string; name: string | null };
  /** Kept for the rare store that finds the password changed meanwhile: it is checked again then. */
  password: string;
}

/** A sign-up's address taken between its first check and its transaction. */
class AddressTaken extends Error {}

export interface Accounts {
  signUp(
    input: { email: string; password: string; name?: string | null },
    request: RequestContext,
  ): Promise<SignUpResult>;
  /** A session, or an MFA challenge when the account has a second factor. */
  signIn(
    input: { email: string; password: string },
    request: RequestContext,
    options?: { result?: SignInResult; orgId?: string | null },
  ): Promise<SignInOutcome>;
  signOut(session: SessionRow, request: RequestContext): Promise<void>;
  /** Needs a recent authentication on the caller's session (step-up); the other sessions end. */
  changePassword(
    session: SessionRow,
    input: { currentPassword: string; newPassword: string },
    request: RequestContext,
  ): Promise<void>;
  /**
   * The slow part of setting a password, which takes no lock: the policy, the reuse check against the
   * current password and history (Argon2id verifies) and the new hash. Done before a transaction, so
   * that no lock is held while it hashes; `id` undefined for an account not made yet.
   */
  preparePassword(
    db: Database,
    user: { id: UserId | undefined; email: string; name: string | null },
    password: string,
  ): Promise<PreparedPassword>;
  /**
   * Sets a password under the policy and history rules (used by change, reset and account set-up), or
   * stores one prepared before the transaction. A password changed since it was prepared is checked
   * again, here.
   */
  setPassword(
    db: Database,
    user: { id: UserId; email: string; name: string | null },
    password: string | PreparedPassword,
  ): Promise<void>;
  /** The stored password hash, if the user has a password. */
  passwordHash(db: Database, userId: UserId): Promise<string | undefined>;
  /** Removes the password and its history; true when there was one. */
  removePassword(db: Database, userId: UserId): Promise<boolean>;
}

export function createAccounts(
  context: AuthContext,
  parts: { sessions: Sessions; users: Users; throttle: SignInThrottle; notices: Notices; completion: SignInCompletion },
): Accounts {
  const { db, clock, audit, hasher, policy, config } = context;
  const { notices } = parts;
  const { sessions, throttle } = parts;
  const verificationRequired = () => config.emailVerification === "required";
  // Every password sign-in starts here, in one statement: a slot of the lockout taken, and the
  // account the address signs in to with its password. There is one lock per account, whichever of
  // its addresses is typed: the slot is counted on its primary address (an unknown address, or one
  // with no password, on itself), so added addresses give no extra guesses.
  const attempt = compiled((db) => {
    const email = sql.placeholder("email");
    const holds = and(holdsAddress(email), isNull(users.deletedAt));
    const key = sql`coalesce((select ${users.emailNormalized} from ${users} inner join ${credentialsPassword} on ${credentialsPassword.userId} = ${users.id} where ${holds}), ${email})`;
    const reserved = db
      .$with("reserved", {
        failures: sql<number | string>`failures`.as("failures"),
        locked_until: sql<Date | string | null>`locked_until`.as("locked_until"),
        lock_level: sql<number | string>`lock_level`.as("lock_level"),
      })
      .as(throttle.reserving(key));
    return db
      .with(reserved)
      .select({
        user: users,
        hash: credentialsPassword.hash,
        failures: reserved.failures,
        locked_until: reserved.locked_until,
        lock_level: reserved.lock_level,
      })
      .from(reserved)
      .leftJoin(users, holds)
      .leftJoin(credentialsPassword, eq(credentialsPassword.userId, users.id));
  });
  const contextWords = serviceWords({ productName: config.email.productName, publicUrl: config.publicUrl });

  function assertPolicy(password: string, personal: { email: string; name?: string | null }): void {
    const violation = checkPasswordPolicy(policy, password, personal, contextWords);
    if (violation !== undefined) {
      throw new PlatformError("weak_password", { detail: violation.message, extensions: { rule: violation.rule } });
    }
  }

  /** Prepared passwords handed out, with what they hold: a caller cannot make one of its own. */
  const handedOut = new WeakMap<PreparedPassword, Prepared>();

  async function prepare(
    db: Database,
    user: { id: UserId | undefined; email: string; name: string | null },
    password: string,
  ): Promise<Prepared> {
    assertPolicy(password, user);
    const normalized = normalizePassword(password);
    const [current] =
      user.id === undefined
        ? []
        : await db.select().from(credentialsPassword).where(eq(credentialsPassword.userId, user.id));
    const history =
      user.id === undefined
        ? []
        : await db
            .select({ hash: passwordHistory.hash })
            .from(passwordHistory)
            .where(eq(passwordHistory.userId, user.id))
            .orderBy(desc(passwordHistory.createdAt), desc(passwordHistory.id))
            .limit(policy.historySize - 1);
    const previous = [...(current === undefined ? [] : [current.hash]), ...history.map((entry) => entry.hash)];
    for (const hash of previous) {
      if (await hasher.verify(normalized, hash))
        throw new PlatformError("password_reused", {
          detail: `The password must differ from your last ${policy.historySize} passwords.`,
        });
    }
    return {
      hash: await hasher.hash(normalized),
      replaces: current === undefined ? undefined : { hash: current.hash, updatedAt: current.updatedAt },
      user,
      password,
    };
  }

  async function preparePassword(
    db: Database,
    user: { id: UserId | undefined; email: string; name: string | null },
    password: string,
  ): Promise<PreparedPassword> {
    const prepared = await prepare(db, user, password);
    const handle = Object.freeze({}) as PreparedPassword;
    handedOut.set(handle, prepared);
    return handle;
  }

  /**
   * Stores a prepared password only if the stored one is still the one it replaces: a compare-and-set
   * on the hash, so a concurrent change waits for the row and then finds it changed. The history only
   * changes with the password, so an unchanged hash means the reuse check still holds. False, with
   * nothing written, when the password changed meanwhile.
   */
  async function storePassword(tx: Database, userId: UserId, prepared: Prepared): Promise<boolean> {
    const now = clock.now();
    const { replaces } = prepared;
    const stored =
      replaces === undefined
        ? await tx
            .insert(credentialsPassword)
            .values({ userId, hash: prepared.hash, createdAt: now, updatedAt: now })
            .onConflictDoNothing({ target: credentialsPassword.userId })
            .returning({ userId: credentialsPassword.userId })
        : await tx
            .update(credentialsPassword)
            .set({ hash: prepared.hash, updatedAt: now })
            .where(and(eq(credentialsPassword.userId, userId), eq(credentialsPassword.hash, replaces.hash)))
            .returning({ userId: credentialsPassword.userId });
    if (stored.length === 0) return false;
    if (replaces !== undefined)
      await tx.insert(passwordHistory).values({ userId, hash: replaces.hash, createdAt: replaces.updatedAt });
    // The rule covers the current password and the ones before it: keep only what it needs.
    await tx.execute(sql`delete from password_history where user_id = ${userId} and id not in (
      select id from password_history where user_id = ${userId} order by created_at desc, id desc limit ${policy.historySize - 1})`);
    return true;
  }

  async function setPassword(
    tx: Database,
    user: { id: UserId; email: string; name: string | null },
    password: string | PreparedPassword,
  ): Promise<void> {
    let prepared = typeof password === "string" ? await prepare(tx, user, password) : handedOut.get(password);
    if (prepared === undefined) throw new TypeError("setPassword takes a password prepared by preparePassword");
    const checkedFor = prepared.user;
    if (
      checkedFor.id === undefined
        ? normalizeEmail(checkedFor.email) !== normalizeEmail(user.email)
        : checkedFor.id !== user.id
    )
      throw new TypeError("This password was prepared for another account");
    // Changed since it was prepared (a change or a sign-in's re-hash): checked again against what is stored now.
    if (!(await storePassword(tx, user.id, prepared))) {
      prepared = await prepare(tx, user, prepared.password);
      if (!(await storePassword(tx, user.id, prepared)))
        throw new PlatformError("conflict", { detail: "The password was changed at the same time; try again." });
    }
  }

  /**
   * What follows a right password: the account's own state (suspended, not set up, address not
   * verified), then the completion every sign-in ends in. `cleared` runs in the completion's
   * transaction, with its writes.
   */
  async function afterPassword(
    user: typeof users.$inferSelect,
    hash: string,
    password: string,
    request: RequestContext,
    options: { result?: SignInResult; orgId?: string | null },
    cleared: (tx: Database) => Promise<void>,
  ): Promise<SignInOutcome> {
    if (user.status === "suspended") {
      await audit.recordByUser(db, user.id, "user.sign_in_failed", request, {
        outcome: "denied",
        metadata: { method: "password", reason: "suspended" },
      });
      throw new PlatformError("account_suspended");
    }
    if (user.status !== "active") throw new PlatformError("invalid_credentials");
    if (verificationRequired() && user.emailVerifiedAt === null) {
      const verificationEmailSent = await db.transaction(async (tx) => {
        await audit.recordByUser(tx, user.id, "user.sign_in_failed", request, {
          outcome: "denied",
          metadata: { method: "password", reason: "email_not_verified" },
        });
        return notices.resendVerification(tx, user);
      });
      // Only the account's password gets here, so saying whether a mail went out reveals nothing.
      throw new PlatformError("email_not_verified", { extensions: { verificationEmailSent } });
    }

    return parts.completion.transaction(async (tx) => {
      // Hashes made under older parameters are upgraded while we hold the plaintext.
      if (hasher.needsRehash(hash)) {
        // Only over the hash verified: a password changed meanwhile must not be put back.
        await tx
          .update(credentialsPassword)
          .set({ hash: await hasher.hash(password), updatedAt: clock.now() })
          .where(and(eq(credentialsPassword.userId, user.id), eq(credentialsPassword.hash, hash)));
      }
      // Sent after the status check's read, which it does not change for this sign-in: the lock was
      // checked when the attempt took its slot.
      const [outcome] = await together([
        parts.completion.afterFirstFactor(tx, user.id, "password", request, {
          result: options.result ?? "session",
          orgId: options.orgId ?? null,
        }),
        cleared(tx),
      ]);
      return outcome;
    });
  }

  return {
    preparePassword,
    setPassword,

    async removePassword(tx, userId) {
      await tx.delete(passwordHistory).where(eq(passwordHistory.userId, userId));
      return (
        (
          await tx
            .delete(credentialsPassword)
            .where(eq(credentialsPassword.userId, userId))
            .returning({ userId: credentialsPassword.userId })
        ).length > 0
      );
    },

    async passwordHash(tx, userId) {
      const [credential] = await tx
        .select({ hash: credentialsPassword.hash })
        .from(credentialsPassword)
        .where(eq(credentialsPassword.userId, userId));
      return credential?.hash;
    },

    async signUp(input, request) {
      const email = input.email.trim();
      assertPolicy(input.password, { email, name: input.name ?? null });
      const existing = await parts.users.findByEmail(db, email);
      if (existing !== undefined) {
        if (!verificationRequired()) throw new PlatformError("email_taken");
        // Same work and the same answer as a new sign-up; the owner is told instead.
        await hasher.hash(normalizePassword(input.password));
        await db.transaction(async (tx) => {
          await audit.record(
            tx,
            {
              action: "user.sign_up_existing_email",
              actor: { type: "anonymous" },
              target: { type: "user", id: existing.id },
            },
            request,
          );
          await notices.sendExistingAccountNotice(tx, existing);
        });
        return { kind: "verification_required" };
      }
      const hash = await hasher.hash(normalizePassword(input.password));
      try {
        return await db.transaction(async (tx) => {
          // Held since the check above (proven meanwhile as another account's added address, or made):
          // answered as a taken address is, below.
          if ((await parts.users.claimAddress(tx, email)) !== undefined) throw new AddressTaken();
          const user = await parts.users.insert(tx, { email, name: input.name ?? null });
          const now = clock.now();
          await tx.insert(credentialsPassword).values({ userId: user.id, hash, createdAt: now, updatedAt: now });
          await audit.recordByUser(tx, user.id, "user.signed_up", request, { metadata: { method: "password" } });
          if (verificationRequired()) {
            await notices.sendVerification(tx, user);
            return { kind: "verification_required" as const };
          }
          // The same step as every sign-in, so MFA policy applies to a fresh account too.
          const outcome = await parts.completion.afterFirstFactor(tx, user.id, "password", request);
          if (outcome.kind !== "signed_in") throw new Error("a new account cannot have a second factor");
          return outcome;
        });
      } catch (error) {
        // Two sign-ups racing for one address: the loser answers as if the address existed.
        if (isUniqueViolation(error) || error instanceof AddressTaken) {
          if (!verificationRequired()) throw new PlatformError("email_taken");
          return { kind: "verification_required" };
        }
        throw error;
      }
    },

    async signIn(input, request, options = {}) {
      const typed = normalizeEmail(input.email);
      const now = clock.now();
      const [found] = await attempt(db, { email: typed, at: now.toISOString() });
      const slot = throttle.slotOf(found, now);
      const row = found?.user != null && found.hash !== null ? { user: found.user, hash: found.hash } : undefined;
      // The key the slot was taken on (see `attempt`).
      const key = row?.user.emailNormalized ?? typed;
      const password = normalizePassword(input.password);

      // An unknown address costs one Argon2id verify too, so timing does not tell them apart.
      let valid: boolean;
      try {
        valid =
          row === undefined
            ? (await hasher.verifyDummy(password, request.signal), false)
            : await hasher.verify(password, row.hash, request.signal);
      } catch (error) {
        // The caller hung up while the attempt waited for its hash: nothing was verified, so its
        // slot goes back, and nothing is recorded.
        if (error instanceof PlatformError && error.code === "caller_gone") await throttle.release(db, key);
        throw error;
      }
      if (!valid || row === undefined) {
        const locked = await throttle.recordFailure(db, key, slot);
        await db.transaction(async (tx) => {
          const actor = { type: "anonymous" } as const;
          const target = row === undefined ? undefined : { type: "user", id: row.user.id };
          await audit.record(
            tx,
            {
              action: "user.sign_in_failed",
              actor,
              ...(target ? { target } : {}),
              outcome: "failure",
              metadata: { method: "password", reason: row === undefined ? "unknown_email" : "wrong_password" },
            },
            request,
          );
          await watchForCredentialStuffing(tx, context, request);
          if (locked)
            await audit.record(
              tx,
              {
                action: "user.locked",
                actor: { type: "system" },
                ...(target ? { target } : {}),
                metadata: { reason: "too_many_failed_sign_ins" },
              },
              request,
            );
        });
        throw new PlatformError("invalid_credentials");
      }

      const { user, hash } = row;
      // The password was right: the slate is cleared, whatever follows. With the sign-in's own
      // writes when it commits (no commit of its own); else on its own once the sign-in is refused.
      try {
        return await afterPassword(user, hash, password, request, options, (tx) => throttle.recordSuccess(tx, key));
      } catch (error) {
        // The refusal (or the failure) is what the caller must hear, whatever this meets.
        await throttle.recordSuccess(db, key).catch(() => undefined);
        throw error;
      }
    },

    async signOut(session, request) {
      await db.transaction(async (tx) => {
        await sessions.revoke(tx, session.userId as UserId, session.id as SessionId, "sign_out");
        await audit.record(
          tx,
          {
            action: "user.signed_out",
            actor: { type: "user", id: session.userId },
            target: { type: "session", id: session.id },
          },
          request,
        );
      });
    },

    async changePassword(session, input, request) {
      sessions.assertRecent(session);
      const user = await parts.users.get(db, session.userId as UserId);
      if (user === undefined) throw new PlatformError("unauthenticated");
      const account = { id: user.id as UserId, email: user.email, name: user.name };
      // Guessing the current password from a stolen session meets the same lockout as sign-in.
      const slot = await throttle.reserve(db, user.emailNormalized);
      const [credential] = await db.select().from(credentialsPassword).where(eq(credentialsPassword.userId, user.id));
      const valid =
        credential === undefined
          ? false
          : await hasher.verify(normalizePassword(input.currentPassword), credential.hash);
      if (credential === undefined || !valid) {
        await throttle.recordFailure(db, user.emailNormalized, slot);
        await audit.recordByUser(db, user.id, "user.password_change_failed", request, { outcome: "failure" });
        throw new PlatformError("invalid_credentials", { detail: "The current password is incorrect." });
      }
      await throttle.recordSuccess(db, user.emailNormalized);
      // The Argon2id work is done before the transaction, which stores only over the hash verified.
      const prepared = await prepare(db, account, input.newPassword);
      const changed =
        prepared.replaces?.hash === credential.hash &&
        (await db.transaction(async (tx) => {
          if (!(await storePassword(tx, account.id, prepared))) return false;
          const revoked = await sessions.revokeAll(tx, account.id, "password_changed", session.id as SessionId);
          await audit.recordByUser(tx, user.id, "user.password_changed", request, {
            metadata: { otherSessionsRevoked: revoked },
          });
          await notices.sendPasswordChanged(tx, user);
          return true;
        }));
      if (!changed) {
        // Changes sent at once with one current password: the first to store wins. The others are
        // answered as they would be one after another: the password they give is no longer the
        // current one, 401 `invalid_credentials`. It was right when checked, so it is no failed guess
        // for the lockout.
        await audit.recordByUser(db, user.id, "user.password_change_failed", request, {
          outcome: "failure",
          metadata: { reason: "changed_meanwhile" },
        });
        throw new PlatformError("invalid_credentials", {
          detail: "The current password is incorrect: the password was just changed by another request.",
        });
      }
    },
  };
}
