import type {
  AuditLog,
  ChannelListener,
  Clock,
  Config,
  Database,
  JobDefinition,
  KeyRing,
  Metrics,
  Sweeper,
  UserId,
} from "@burrow/platform-core";
import { NO_METRICS } from "@burrow/platform-core";
import type { AuthContext, AuthMailer, AuthTexter, BeforeSignIn, UserDeletion } from "./context.ts";
import { createAccountEmails, type AccountEmails } from "./users/emails.ts";
import { createPhones, type Phones } from "./flows/phones.ts";
import { createImpersonation, type Impersonation } from "./flows/impersonation.ts";
import { createChallenges, createChallengeStore, mfaChallengeSweeper, type Challenges } from "./mfa/challenges.ts";
import { createFactors, type Factors } from "./mfa/factors.ts";
import { ceremonySweeper, createPasskeys, type Passkeys } from "./mfa/passkeys.ts";
import { createSessionStarter, createSignInCompletion, type SignInCompletion } from "./sign-in/complete.ts";
import { createEmailFlows, EMAIL_REQUEST_JOB, type EmailFlows } from "./flows/email-flows.ts";
import { createNotices, type Notices } from "./flows/notices.ts";
import { createOneTimeTokens, oneTimeTokenSweeper, type OneTimeTokens } from "./tokens/tokens.ts";
import { createApiKeys, DEFAULT_USER_SCOPES, type ApiKeys } from "./tokens/api-keys.ts";
import { createRefreshTokens, refreshFamilySweeper, type RefreshTokens } from "./tokens/refresh.ts";
import { createAccessTokens, type AccessTokens, type ClaimsProvider } from "./tokens/service.ts";
import { createSigningKeys, SIGNING_KEYS_CHANNEL, type SigningKeys } from "./tokens/signing-keys.ts";
import { createPasswordHasher, type PasswordHasher } from "./passwords/hashing.ts";
import { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from "./passwords/policy.ts";
import { createSessions, sessionSweeper, type Sessions } from "./sessions/sessions.ts";
import { createAccounts, type Accounts } from "./sign-in/accounts.ts";
import { createPasskeySignIn, type PasskeySignIn } from "./sign-in/passkey.ts";
import { createSignInThrottle, throttleSweeper, type SignInThrottle } from "./sign-in/throttle.ts";
import { createKnownDevices, knownDeviceSweeper } from "./sign-in/devices.ts";
import { createUsers, type Users } from "./users/users.ts";
import { createLinkedAccounts, type LinkedAccounts } from "./oauth/accounts.ts";
import { createProviderDirectory, type ProviderDirectory } from "./oauth/providers.ts";
import { createSocialLogin, oauthStateSweeper, type SocialLogin } from "./oauth/social-login.ts";

export interface Auth extends Accounts, PasskeySignIn {
  context: AuthContext;
  sessions: Sessions;
  users: Users;
  throttle: SignInThrottle;
  tokens: OneTimeTokens;
  notices: Notices;
  flows: EmailFlows;
  phones: Phones;
  /** The account's other email addresses: add, confirm, make primary, remove. */
  emails: AccountEmails;
  factors: Factors;
  passkeys: Passkeys;
  challenges: Challenges;
  completion: SignInCompletion;
  /** One-time links for operators to act as a user (the rule of who may is platform-ops'). */
  impersonation: Impersonation;
  signingKeys: SigningKeys;
  refreshTokens: RefreshTokens;
  accessTokens: AccessTokens;
  apiKeys: ApiKeys;
  /** Social login over OpenID Connect: start, callback, an app's code exchange. */
  socialLogin: SocialLogin;
  /** Provider accounts linked to users: list, unlink. */
  linkedAccounts: LinkedAccounts;
  /** Social sign-in providers: the configured ones, those added at run time (stored here), discovery checks. */
  oauthProviders: ProviderDirectory;
  /** Job types auth needs run; the app registers them with its worker. */
  jobs: Record<string, JobDefinition>;
  /** What auth keeps in memory and reloads when another node changes it (the signing keys). */
  listeners: ChannelListener[];
  /** What of auth's tables housekeeping may delete once it has expired. */
  sweepers: Sweeper[];
}

/**
 * The port through which a permissions package decides for auth. Each part is asked when it is needed,
 * inside auth's own transaction where one is given; leaving a part out keeps auth's default.
 */
export interface AccessPolicy {
  /** Whether a role requires MFA of this user (BURROW_MFA_REQUIRED=all covers everyone anyway). */
  mfaRequiredFor(db: Database, userId: UserId): Promise<boolean>;
  /** Extra claims for access tokens (roles and permissions); throws to refuse minting for an organization. */
  claims: ClaimsProvider;
  /** What a user may put on an API key or use to rotate signing keys; their own profile by default. */
  grantableScopes(userId: UserId): Promise<string[]>;
  /** Runs in the transaction that suspends or deletes a user (rbac ends their eligibilities and elevations). */
  onUserDeactivated(db: Database, userId: UserId): Promise<void>;
  /**
   * Runs in the transaction that deletes a user (by themselves or an operator), the account locked, before
   * anything else changes: a PlatformError refuses the deletion. rbac refuses an organization's only
   * owner, and otherwise ends the account's memberships (audited as leaving, or removal by the operator).
   */
  beforeUserDeleted(db: Database, userId: UserId, deletion: UserDeletion): Promise<void>;
  /** Whether the user may sign in to the admin console: holds a platform permission. Nobody by default. */
  mayOperate(db: Database, userId: UserId): Promise<boolean>;
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
  /** The core key ring: signing keys' private halves are encrypted with it. */
  keyRing: KeyRing;
  /** What roles decide for accounts: `rbac.accessPolicy` from @burrow/platform-rbac, or your own. */
  access?: Partial<AccessPolicy>;
  hasher?: PasswordHasher;
  policy?: PasswordPolicy;
  /** Where auth counts what it does (platform-ops' Prometheus metrics); nothing by default. */
  metrics?: Metrics;
  /** The builder's check before every sign-in's session starts (see `BeforeSignIn`). */
  beforeSignIn?: BeforeSignIn;
}

/**
 * Composes the auth services over one database.
 * @example
 * const email = createEmail({ db, config, clock, keyRing, log });
 * const auth = createAuth({ db, config, clock, audit, keyRing, email: email.outbox, sms: email.sms });
 * const outcome = await auth.signIn({ email: "ada@example.com", password }, request);
 * if (outcome.kind === "signed_in") setSessionCookie(outcome.token);
 * else askForSecondFactor(outcome.mfaToken, outcome.methods);
 */
export function createAuth(options: CreateAuthOptions): Auth {
  const access = options.access ?? {};
  const context: AuthContext = {
    db: options.db,
    config: options.config,
    clock: options.clock,
    audit: options.audit,
    email: options.email,
    sms: options.sms,
    hasher: options.hasher ?? createPasswordHasher(),
    policy: options.policy ?? DEFAULT_PASSWORD_POLICY,
    metrics: options.metrics ?? NO_METRICS,
    requiresMfa: async (db, userId) =>
      options.config.mfaRequired === "all" || ((await access.mfaRequiredFor?.(db, userId as UserId)) ?? false),
    onUserDeactivated: async (db, userId) => access.onUserDeactivated?.(db, userId as UserId),
    beforeUserDeleted: async (db, userId, deletion) => access.beforeUserDeleted?.(db, userId as UserId, deletion),
    mayOperate: async (db, userId) => (await access.mayOperate?.(db, userId as UserId)) ?? false,
    beforeSignIn: options.beforeSignIn,
  };
  const sessions = createSessions(context);
  const users = createUsers(context, { sessions });
  const throttle = createSignInThrottle({ clock: context.clock, policy: context.config.lockout });
  const tokens = createOneTimeTokens({ clock: context.clock, secret: context.config.secret });
  const notices = createNotices({ config: context.config, clock: context.clock, email: context.email, tokens });
  const factors = createFactors({ ...context, keyRing: options.keyRing, sessions });
  const startSession = createSessionStarter(context, {
    sessions,
    devices: createKnownDevices(context.clock),
    notices,
  });
  const passkeys = createPasskeys(context, { factors, sessions });
  const completion = createSignInCompletion(context, {
    startSession,
    sessions,
    throttle,
    createChallenge: createChallengeStore(context.clock),
  });
  // Second factors have their own counter per user: a right password never clears it.
  const secondFactorThrottle = createSignInThrottle({ clock: context.clock, policy: context.config.mfaLockout });
  const challenges = createChallenges(context, { factors, passkeys, throttle: secondFactorThrottle, completion });
  const accounts = createAccounts(context, { sessions, users, throttle, notices, completion });
  const base = { db: context.db, config: context.config, clock: context.clock, audit: context.audit };
  const grantableScopes = access.grantableScopes ?? (async () => DEFAULT_USER_SCOPES);
  const apiKeys = createApiKeys({ ...base, sessions, grantableScopes });
  const flows = createEmailFlows(context, {
    users,
    sessions,
    accounts,
    throttle,
    tokens,
    notices,
    completion,
    challenges,
    apiKeys,
  });
  const linkedAccounts = createLinkedAccounts(context, {
    keyRing: options.keyRing,
    users,
    accounts,
    factors,
    flows,
    sessions,
  });
  const oauthProviders = createProviderDirectory({
    config: context.config,
    clock: context.clock,
    keyRing: options.keyRing,
  });
  const passkeySignIn = createPasskeySignIn({ passkeys, completion });
  const phones = createPhones(context, { tokens });
  const emails = createAccountEmails(context, { tokens, sessions, users });
  const impersonation = createImpersonation(context, { tokens, completion });
  const signingKeys = createSigningKeys({ ...base, keyRing: options.keyRing, sessions, grantableScopes });
  const refreshTokens = createRefreshTokens({ ...base, sessions });
  const accessTokens = createAccessTokens({
    db: context.db,
    audit: context.audit,
    keys: signingKeys,
    refresh: refreshTokens,
    sessions,
    accounts,
    passwordGrant: context.config.tokens.passwordGrant,
    ...(access.claims ? { claims: access.claims } : {}),
  });
  const socialLogin = createSocialLogin(context, {
    keyRing: options.keyRing,
    sessions,
    tokens: accessTokens,
    providers: oauthProviders,
    accounts: linkedAccounts,
    completion,
  });
  return {
    ...accounts,
    ...passkeySignIn,
    context,
    sessions,
    users,
    throttle,
    tokens,
    notices,
    flows,
    phones,
    emails,
    factors,
    passkeys,
    challenges,
    completion,
    impersonation,
    signingKeys,
    refreshTokens,
    accessTokens,
    apiKeys,
    socialLogin,
    linkedAccounts,
    oauthProviders,
    jobs: { [EMAIL_REQUEST_JOB]: flows.requestJob },
    listeners: [
      {
        channel: SIGNING_KEYS_CHANNEL,
        onNotify: () => signingKeys.load(),
        // A rotation announced while this node could not hear it is read when it hears again.
        onConnectionChange: (connected) => {
          // (A read that fails is tried again at the next notification, or when a token names a key it does not know.)
          if (connected) void signingKeys.load().catch(() => {});
        },
      },
      sessions.cache.listener,
    ],
    sweepers: [
      sessionSweeper(context.config),
      refreshFamilySweeper,
      oneTimeTokenSweeper,
      mfaChallengeSweeper,
      ceremonySweeper,
      throttleSweeper,
      knownDeviceSweeper,
      oauthStateSweeper,
    ],
  };
}

export type { AuthContext, AuthMailer, AuthTexter, BeforeSignIn, UserDeletion } from "./context.ts";
export { E164, type PhoneRow, type Phones } from "./flows/phones.ts";
export { buildLink, checkRedirect } from "./flows/links.ts";
export { EMAIL_REQUEST_JOB, type EmailFlows, type EmailRequestKind } from "./flows/email-flows.ts";
export { ADMIN_SESSION_LIFETIMES, IMPERSONATION, LIFETIMES, REAUTHENTICATION_WINDOW_MS } from "./flows/lifetimes.ts";
export type { Impersonation } from "./flows/impersonation.ts";
export type { Notices } from "./flows/notices.ts";
export { MAX_CODE_ATTEMPTS, type OneTimeTokens, type TokenRow } from "./tokens/tokens.ts";
export {
  DEFAULT_USER_SCOPES,
  effectiveScopes,
  SCOPE,
  scopeCovers,
  type ApiKeyCaller,
  type ApiKeyRow,
  type ApiKeys,
} from "./tokens/api-keys.ts";
export type { RefreshTokens, Rotated } from "./tokens/refresh.ts";
export {
  INTROSPECT_SCOPE,
  type AccessTokens,
  type ClaimsProvider,
  type Introspection,
  type TokenResponse,
} from "./tokens/service.ts";
export {
  ACCESS_TOKEN_TYPE,
  SIGNING_KEYS_CHANNEL,
  type AccessTokenClaims,
  type SigningKeys,
} from "./tokens/signing-keys.ts";
export { createPasswordHasher, DEFAULT_ARGON2, type PasswordHasher } from "./passwords/hashing.ts";
export {
  checkPasswordPolicy,
  DEFAULT_PASSWORD_POLICY,
  serviceWords,
  type PasswordPolicy,
  type PolicyViolation,
} from "./passwords/policy.ts";
export { parseSessionToken, formatSessionToken } from "./sessions/tokens.ts";
export {
  SESSION_CACHE_TTL_MS,
  SESSIONS_CHANNEL,
  type CachedSession,
  type SessionCache,
  type SessionChange,
} from "./sessions/cache.ts";
export type {
  PeekedSession,
  PublicSession,
  SessionAudience,
  SessionRow,
  Sessions,
  SessionValidation,
  ValidateOptions,
} from "./sessions/sessions.ts";
export { assertRecentAuthentication } from "./sessions/sessions.ts";
export type { Accounts, PreparedPassword, SignedIn, SignUpResult } from "./sign-in/accounts.ts";
export type { SignInCompletion, SignInOutcome, SignInResult } from "./sign-in/complete.ts";
export {
  MFA_MAX_ATTEMPTS,
  MFA_TOKEN_TTL_MS,
  type Challenges,
  type SecondFactorMethod,
  type SecondFactorProof,
} from "./mfa/challenges.ts";
export type { PasskeySignIn } from "./sign-in/passkey.ts";
export type { LinkedAccounts, PublicLinkedAccount } from "./oauth/accounts.ts";
export type {
  DiscoveryCheck,
  ProviderChanges,
  ProviderDirectory,
  ProviderInput,
  StoredProvider,
} from "./oauth/providers.ts";
export {
  OAUTH_EXCHANGE_TTL_MS,
  OAUTH_STATE_TTL_MS,
  type CallbackOutcome,
  type ExchangeOutcome,
  type SocialLogin,
} from "./oauth/social-login.ts";
export { secondFactorMethods, type FactorRow, type Factors } from "./mfa/factors.ts";
export { WEBAUTHN_CHALLENGE_TTL_MS, type Passkeys } from "./mfa/passkeys.ts";
export type { SignInThrottle } from "./sign-in/throttle.ts";
export { describeDevice, type KnownDevices } from "./sign-in/devices.ts";
export {
  lockUser,
  normalizeEmail,
  toPublicUser,
  type PublicUser,
  type UserRow,
  type Users,
  type ProfileChanges,
  type UserSearch,
} from "./users/users.ts";
export { TOKEN_PURPOSES, USER_STATUSES, type TokenPurpose, type UserStatus } from "./schema.ts";
export type { AccountEmail, AccountEmails } from "./users/emails.ts";
