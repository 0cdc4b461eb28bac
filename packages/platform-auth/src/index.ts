import type { AuditLog, Clock, Config, Database } from "@burrow/platform-core";
import type { AuthContext, AuthHooks } from "./context.ts";
import { createPasswordHasher, type PasswordHasher } from "./passwords/hashing.ts";
import { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from "./passwords/policy.ts";
import { createSessions, type Sessions } from "./sessions/sessions.ts";
import { createAccounts, type Accounts } from "./sign-in/accounts.ts";
import { createSignInThrottle, type SignInThrottle } from "./sign-in/throttle.ts";
import { createUsers, type Users } from "./users/users.ts";

export interface Auth extends Accounts {
  context: AuthContext;
  sessions: Sessions;
  users: Users;
  throttle: SignInThrottle;
}

export interface CreateAuthOptions {
  db: Database;
  config: Config;
  clock: Clock;
  audit: AuditLog;
  hooks?: AuthHooks;
  hasher?: PasswordHasher;
  policy?: PasswordPolicy;
}

/**
 * Composes the auth services over one database.
 * @example const auth = createAuth({ db, config, clock, audit }); const { token } = await auth.signIn({ email, password }, request);
 */
export function createAuth(options: CreateAuthOptions): Auth {
  const context: AuthContext = {
    db: options.db,
    config: options.config,
    clock: options.clock,
    audit: options.audit,
    hasher: options.hasher ?? createPasswordHasher(),
    policy: options.policy ?? DEFAULT_PASSWORD_POLICY,
    hooks: options.hooks ?? {},
  };
  const sessions = createSessions(context);
  const users = createUsers(context);
  const throttle = createSignInThrottle({ clock: context.clock, policy: context.config.lockout });
  const accounts = createAccounts(context, { sessions, users, throttle });
  return { ...accounts, context, sessions, users, throttle };
}

export type { AuthContext, AuthHooks } from "./context.ts";
export { createPasswordHasher, DEFAULT_ARGON2, type PasswordHasher } from "./passwords/hashing.ts";
export { checkPasswordPolicy, DEFAULT_PASSWORD_POLICY, type PasswordPolicy, type PolicyViolation } from "./passwords/policy.ts";
export { parseSessionToken, formatSessionToken } from "./sessions/tokens.ts";
export type { PublicSession, SessionRow, Sessions, SessionValidation } from "./sessions/sessions.ts";
export type { Accounts, SignedIn, SignUpResult } from "./sign-in/accounts.ts";
export type { SignInThrottle } from "./sign-in/throttle.ts";
export { normalizeEmail, toPublicUser, type PublicUser, type UserRow, type Users, type UserSearch } from "./users/users.ts";
export { USER_STATUSES, type UserStatus } from "./schema.ts";
