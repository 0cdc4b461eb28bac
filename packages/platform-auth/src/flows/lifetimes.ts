const MINUTE = 60_000;

/**
 * How long each mailed link or code lives: long enough to reach an inbox and be acted on, short
 * enough to be worthless later. The reasons are in docs/security.md.
 */
export const LIFETIMES = {
  verifyEmail: 24 * 60 * MINUTE,
  passwordReset: 30 * MINUTE,
  magicLink: 15 * MINUTE,
  emailCode: 10 * MINUTE,
  emailChange: 24 * 60 * MINUTE,
  /** Confirming another address for the account: as long as confirming the first one. */
  emailAdd: 24 * 60 * MINUTE,
  accountSetup: 72 * 60 * MINUTE,
  /** The "this wasn't me" link of a new-device mail: read days later, it should still work. */
  disownSignIn: 7 * 24 * 60 * MINUTE,
} as const;

/** How long a sign-in or re-authentication counts as recent for sensitive changes. */
export const REAUTHENTICATION_WINDOW_MS = 10 * MINUTE;

/**
 * The admin console's sessions (`audience: "admin"`): stricter than the app's whatever the
 * configuration says, as an operator's session can change anyone's account.
 */
export const ADMIN_SESSION_LIFETIMES = {
  idleTimeoutMs: 30 * MINUTE,
  absoluteLifetimeMs: 12 * 60 * MINUTE,
  /** Last activity is written at most this often, so the 30 idle minutes are counted closely. */
  activityRefreshMs: MINUTE,
} as const;

/**
 * Impersonation: the one-time link an operator opens lives 5 minutes, the session it starts 30
 * minutes however active (and never counts as a recent authentication: no step-up, so no password,
 * address, factor or key changes as the user).
 */
export const IMPERSONATION = { linkTtlMs: 5 * MINUTE, sessionMs: 30 * MINUTE } as const;
