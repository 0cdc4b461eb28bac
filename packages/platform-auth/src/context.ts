import type { AuditLog, Clock, Config, Database, RequestContext } from "@burrow/platform-core";
import type { PasswordHasher } from "./passwords/hashing.ts";
import type { PasswordPolicy } from "./passwords/policy.ts";
import type { PublicUser } from "./users/users.ts";

/**
 * Extension points the composing app fills in. Each runs inside the transaction of the change
 * that causes it, so a queued email commits (or rolls back) with that change.
 */
export interface AuthHooks {
  /** An account's address needs verifying: after sign-up, or when an unverified account signs in. */
  onVerificationNeeded?(db: Database, user: PublicUser, request: RequestContext): Promise<void>;
  /** Someone tried to sign up with an address that already has an account. */
  onSignUpWithExistingEmail?(db: Database, user: PublicUser, request: RequestContext): Promise<void>;
  /** The password was changed (by the user or a reset). */
  onPasswordChanged?(db: Database, user: PublicUser, request: RequestContext): Promise<void>;
}

/** What every auth service needs; built once by `createAuth`. */
export interface AuthContext {
  db: Database;
  config: Config;
  clock: Clock;
  audit: AuditLog;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  hooks: AuthHooks;
}
