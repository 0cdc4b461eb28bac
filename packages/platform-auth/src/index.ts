import type { AuditLog, Clock, Config, Database, JobDefinition } from "@burrow/platform-core";
import type { AuthContext, AuthMailer, AuthTexter } from "./context.ts";
import { createPhones, type Phones } from "./flows/phones.ts";
import { createEmailFlows, EMAIL_REQUEST_JOB, type EmailFlows } from "./flows/email-flows.ts";
import { createNotices, type Notices } from "./flows/notices.ts";
import { createOneTimeTokens, type OneTimeTokens } from "./tokens/tokens.ts";
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
  tokens: OneTimeTokens;
  notices: Notices;
  flows: EmailFlows;
  phones: Phones;
  /** Job types auth needs run; the app registers them with its worker. */
  jobs: Record<string, JobDefinition>;
}

export interface CreateAuthOptions {
  db: Database;
  config: Config;
  clock: Clock;
  audit: AuditLog;
  /** The email outbox (from @burrow/platform-email). */
  email: AuthMailer;
  /** The SMS outbox (from @burrow/platform-email). */
  sms: AuthTexter;
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
    email: options.email,
    sms: options.sms,
    hasher: options.hasher ?? createPasswordHasher(),
    policy: options.policy ?? DEFAULT_PASSWORD_POLICY,
  };
  const sessions = createSessions(context);
  const users = createUsers(context);
  const throttle = createSignInThrottle({ clock: context.clock, policy: context.config.lockout });
  const tokens = createOneTimeTokens({ clock: context.clock, secret: context.config.secret });
  const notices = createNotices({ config: context.config, email: context.email, tokens });
  const accounts = createAccounts(context, { sessions, users, throttle, notices });
  const flows = createEmailFlows(context, { users, sessions, accounts, throttle, tokens, notices });
  const phones = createPhones(context, { tokens });
  return { ...accounts, context, sessions, users, throttle, tokens, notices, flows, phones, jobs: { [EMAIL_REQUEST_JOB]: flows.requestJob } };
}

export type { AuthContext, AuthMailer, AuthTexter } from "./context.ts";
export { E164, type PhoneRow, type Phones } from "./flows/phones.ts";
export { buildLink, checkRedirect } from "./flows/links.ts";
export { EMAIL_REQUEST_JOB, type EmailFlows, type EmailRequestKind } from "./flows/email-flows.ts";
export { LIFETIMES, REAUTHENTICATION_WINDOW_MS } from "./flows/lifetimes.ts";
export type { Notices } from "./flows/notices.ts";
export { MAX_CODE_ATTEMPTS, type OneTimeTokens, type TokenRow } from "./tokens/tokens.ts";
export { createPasswordHasher, DEFAULT_ARGON2, type PasswordHasher } from "./passwords/hashing.ts";
export { checkPasswordPolicy, DEFAULT_PASSWORD_POLICY, type PasswordPolicy, type PolicyViolation } from "./passwords/policy.ts";
export { parseSessionToken, formatSessionToken } from "./sessions/tokens.ts";
export type { PublicSession, SessionRow, Sessions, SessionValidation } from "./sessions/sessions.ts";
export type { Accounts, SignedIn, SignUpResult } from "./sign-in/accounts.ts";
export type { SignInThrottle } from "./sign-in/throttle.ts";
export { normalizeEmail, toPublicUser, type PublicUser, type UserRow, type Users, type UserSearch } from "./users/users.ts";
export { TOKEN_PURPOSES, USER_STATUSES, type TokenPurpose, type UserStatus } from "./schema.ts";
