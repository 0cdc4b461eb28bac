import { sql } from "drizzle-orm";
// Through the schema subpath: drizzle-kit loads schema files under Node, so they import nothing heavy.
import { timestamptz } from "@burrow/platform-core/schema";
import { bigint, bigserial, boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";

export const USER_STATUSES = ["active", "suspended", "deleted", "invited"] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const users = pgTable(
  "users",
  {
    id: text("id").primaryKey(),
    /** The address as the user wrote it (trimmed). */
    email: text("email").notNull(),
    /** NFKC, lower-cased: what uniqueness and look-ups use. */
    emailNormalized: text("email_normalized").notNull(),
    name: text("name"),
    avatarUrl: text("avatar_url"),
    /** Editable by the user. */
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    /** Editable by the server only; never returned to the user. */
    privateMetadata: jsonb("private_metadata").$type<Record<string, unknown>>().notNull().default({}),
    status: text("status", { enum: USER_STATUSES }).notNull().default("active"),
    emailVerifiedAt: timestamptz("email_verified_at"),
    lastSignInAt: timestamptz("last_sign_in_at"),
    createdAt: timestamptz("created_at").notNull(),
    updatedAt: timestamptz("updated_at").notNull(),
    deletedAt: timestamptz("deleted_at"),
  },
  (table) => [
    // A deleted account frees its address.
    uniqueIndex("users_email_normalized_key").on(table.emailNormalized).where(sql`deleted_at is null`),
    index("users_status_idx").on(table.status, table.id),
    // Operators search by part of an address or a name (ILIKE '%…%'): trigram indexes (pg_trgm) find
    // a rare match among 100,000 accounts without reading them all.
    index("users_email_trgm_idx").using("gin", sql`${table.emailNormalized} gin_trgm_ops`),
    index("users_name_trgm_idx").using("gin", sql`${table.name} gin_trgm_ops`),
  ],
);

export const userPhones = pgTable(
  "user_phones",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** E.164, for example +14155550123. */
    phone: text("phone").notNull(),
    isPrimary: boolean("is_primary").notNull().default(false),
    verifiedAt: timestamptz("verified_at"),
    createdAt: timestamptz("created_at").notNull(),
  },
  (table) => [
    // A number belongs to whoever verified it; unverified claims cannot squat it.
    uniqueIndex("user_phones_verified_phone_key").on(table.phone).where(sql`verified_at is not null`),
    uniqueIndex("user_phones_user_phone_key").on(table.userId, table.phone),
  ],
);

/**
 * An account's other email addresses; the primary one stays on `users` (what tokens, the admin app,
 * webhooks and the audit log show). Making one primary swaps it with the address on `users`.
 */
export const userEmails = pgTable(
  "user_emails",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** As the user wrote it (trimmed). */
    email: text("email").notNull(),
    /** NFKC, lower-cased, as on `users`. */
    emailNormalized: text("email_normalized").notNull(),
    verifiedAt: timestamptz("verified_at"),
    createdAt: timestamptz("created_at").notNull(),
  },
  (table) => [
    // An address belongs to whoever verified it; an unverified claim squats nothing.
    uniqueIndex("user_emails_verified_email_key").on(table.emailNormalized).where(sql`verified_at is not null`),
    uniqueIndex("user_emails_user_email_key").on(table.userId, table.emailNormalized),
  ],
);

export const credentialsPassword = pgTable("credentials_password", {
  userId: text("user_id")
    .primaryKey()
    .references(() => users.id, { onDelete: "cascade" }),
  /** Argon2id PHC string; its parameters tell whether it needs re-hashing. */
  hash: text("hash").notNull(),
  createdAt: timestamptz("created_at").notNull(),
  updatedAt: timestamptz("updated_at").notNull(),
});

export const passwordHistory = pgTable(
  "password_history",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    hash: text("hash").notNull(),
    createdAt: timestamptz("created_at").notNull(),
  },
  (table) => [index("password_history_user_idx").on(table.userId, table.createdAt)],
);

export const authSessions = pgTable(
  "auth_sessions",
  {
    id: text("id").primaryKey(),
    /** SHA-256 of the token's secret part; the secret itself is never stored. */
    secretHash: text("secret_hash").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: timestamptz("created_at").notNull(),
    /** Absolute end, whatever the activity. */
    expiresAt: timestamptz("expires_at").notNull(),
    /** Refreshed at most once per activity interval; idle expiry counts from here. */
    lastActiveAt: timestamptz("last_active_at").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    /** How the user proved who they are, for example ["password"] or ["password", "totp"]. */
    authMethods: jsonb("auth_methods").$type<string[]>().notNull(),
    authenticatedAt: timestamptz("authenticated_at").notNull(),
    revokedAt: timestamptz("revoked_at"),
    revokedReason: text("revoked_reason"),
    /** `mfa_enrolment`: policy requires a second factor this user lacks; the session may only enrol one. */
    restriction: text("restriction", { enum: ["mfa_enrolment"] }),
    /** `admin`: a session of the admin console (its own cookie, stricter lifetimes); never valid for the API. */
    audience: text("audience", { enum: ["app", "admin"] })
      .notNull()
      .default("app"),
    /** The operator acting as the user: an impersonation session (30 minutes, no step-up). */
    impersonatorId: text("impersonator_id"),
  },
  (table) => [index("auth_sessions_user_idx").on(table.userId, table.createdAt)],
);

/** Failed sign-in counter per normalised email, whether or not an account exists. */
export const signInThrottles = pgTable("sign_in_throttles", {
  key: text("key").primaryKey(),
  /** Attempts reserved in the current window (including those still being verified). */
  failures: integer("failures").notNull(),
  lockedUntil: timestamptz("locked_until"),
  /** How many locks so far; each doubles the next lock's length. */
  lockLevel: integer("lock_level").notNull().default(0),
  updatedAt: timestamptz("updated_at").notNull(),
});

export const TOKEN_PURPOSES = [
  "verify_email",
  "password_reset",
  "magic_link",
  "email_otp",
  "email_change",
  "email_add",
  "account_setup",
  "phone_verify",
  "disown_sign_in",
  "impersonation",
] as const;
export type TokenPurpose = (typeof TOKEN_PURPOSES)[number];

/**
 * One-time links and codes. Only a hash is stored: SHA-256 for 256-bit link secrets, and for
 * 6-digit codes an HMAC under the server secret (a dump alone cannot brute-force them offline).
 * Each is bound to one user and one purpose, used once, and revoked when a newer one of the same
 * purpose is issued.
 */
export const authTokens = pgTable(
  "auth_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text("purpose", { enum: TOKEN_PURPOSES }).notNull(),
    tokenHash: text("token_hash").notNull(),
    /** What the token is about beyond the user: a new email address, a phone number, a redirect. */
    target: text("target"),
    expiresAt: timestamptz("expires_at").notNull(),
    consumedAt: timestamptz("consumed_at"),
    revokedAt: timestamptz("revoked_at"),
    /** Wrong guesses so far (codes only). */
    attempts: integer("attempts").notNull().default(0),
    createdAt: timestamptz("created_at").notNull(),
  },
  (table) => [
    uniqueIndex("auth_tokens_hash_key").on(table.tokenHash),
    index("auth_tokens_user_purpose_idx").on(table.userId, table.purpose),
  ],
);

export const SIGNING_KEY_STATUSES = ["active", "retiring", "retired"] as const;

/**
 * Access-token signing keys. The private key is encrypted with the core key ring; the public key is
 * published at /.well-known/jwks.json while the key is active or retiring.
 */
export const signingKeys = pgTable("signing_keys", {
  kid: text("kid").primaryKey(),
  algorithm: text("algorithm").notNull(),
  publicJwk: jsonb("public_jwk").$type<Record<string, string>>().notNull(),
  privateKeyEncrypted: text("private_key_encrypted").notNull(),
  status: text("status", { enum: SIGNING_KEY_STATUSES }).notNull(),
  createdAt: timestamptz("created_at").notNull(),
  retiringAt: timestamptz("retiring_at"),
  retiredAt: timestamptz("retired_at"),
});

/** A chain of refresh tokens bound to one session; reuse of a rotated member revokes it whole. */
export const refreshTokenFamilies = pgTable(
  "refresh_token_families",
  {
    id: text("id").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => authSessions.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** The organization its access tokens are minted for, if any: every refresh mints for the same. */
    orgId: text("org_id"),
    createdAt: timestamptz("created_at").notNull(),
    /** Absolute end of the family, whatever its use. */
    expiresAt: timestamptz("expires_at").notNull(),
    revokedAt: timestamptz("revoked_at"),
    revokedReason: text("revoked_reason"),
  },
  (table) => [index("refresh_token_families_session_idx").on(table.sessionId)],
);

export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: text("id").primaryKey(),
    familyId: text("family_id")
      .notNull()
      .references(() => refreshTokenFamilies.id, { onDelete: "cascade" }),
    /** SHA-256 of the token; the token itself is never stored. */
    tokenHash: text("token_hash").notNull(),
    createdAt: timestamptz("created_at").notNull(),
    /** Idle end: a token unused this long is dead. */
    expiresAt: timestamptz("expires_at").notNull(),
    /** Set when the token was exchanged for its successor. */
    rotatedAt: timestamptz("rotated_at"),
  },
  (table) => [
    uniqueIndex("refresh_tokens_hash_key").on(table.tokenHash),
    index("refresh_tokens_family_idx").on(table.familyId),
  ],
);

/** Keys for machines: `bk_<id>_<secret>`, shown once; only the secret's SHA-256 is stored. */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    ownerType: text("owner_type", { enum: ["user", "organization"] }).notNull(),
    ownerId: text("owner_id").notNull(),
    /** The user who made it (and whose permissions bound its scopes). */
    createdBy: text("created_by").notNull(),
    scopes: jsonb("scopes").$type<string[]>().notNull(),
    secretHash: text("secret_hash").notNull(),
    /** The first characters of the key, to tell keys apart in a list. */
    prefix: text("prefix").notNull(),
    expiresAt: timestamptz("expires_at"),
    lastUsedAt: timestamptz("last_used_at"),
    createdAt: timestamptz("created_at").notNull(),
    revokedAt: timestamptz("revoked_at"),
  },
  (table) => [index("api_keys_owner_idx").on(table.ownerType, table.ownerId)],
);

export const FACTOR_TYPES = ["totp", "passkey"] as const;

/** Second factors. A TOTP secret is encrypted with the core key ring; a factor counts once confirmed. */
export const mfaFactors = pgTable(
  "mfa_factors",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text("type", { enum: FACTOR_TYPES }).notNull(),
    label: text("label").notNull(),
    createdAt: timestamptz("created_at").notNull(),
    /** Null until the first correct code: an unconfirmed factor protects nothing and proves nothing. */
    confirmedAt: timestamptz("confirmed_at"),
    lastUsedAt: timestamptz("last_used_at"),
    totpSecretEncrypted: text("totp_secret_encrypted"),
    /** The last accepted RFC 6238 time step: a step is never accepted twice. */
    totpLastStep: bigint("totp_last_step", { mode: "number" }),
    /** Passkeys: the credential id (base64url), its COSE public key (base64url), and what it reports. */
    credentialId: text("credential_id"),
    publicKey: text("public_key"),
    signCount: bigint("sign_count", { mode: "number" }),
    transports: jsonb("transports").$type<string[]>(),
    backedUp: boolean("backed_up"),
    aaguid: text("aaguid"),
  },
  (table) => [
    index("mfa_factors_user_idx").on(table.userId),
    uniqueIndex("mfa_factors_credential_key").on(table.credentialId),
  ],
);

/**
 * WebAuthn challenges: random, single-use, 5 minutes, and bound to the ceremony that asked for them
 * (its purpose, and the user or MFA challenge it serves).
 */
export const webauthnChallenges = pgTable("webauthn_challenges", {
  id: text("id").primaryKey(),
  challenge: text("challenge").notNull(),
  purpose: text("purpose", { enum: ["registration", "sign_in", "second_factor", "reauthentication"] }).notNull(),
  userId: text("user_id"),
  mfaChallengeId: text("mfa_challenge_id"),
  expiresAt: timestamptz("expires_at").notNull(),
  consumedAt: timestamptz("consumed_at"),
  createdAt: timestamptz("created_at").notNull(),
});

/**
 * Recovery codes: `<lookup>-<secret>`. The lookup part finds the row; the secret is checked against
 * an Argon2id hash (the codes are short, so a fast hash would fall to brute force from a dump).
 */
export const mfaRecoveryCodes = pgTable(
  "mfa_recovery_codes",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    lookup: text("lookup").notNull(),
    secretHash: text("secret_hash").notNull(),
    createdAt: timestamptz("created_at").notNull(),
    usedAt: timestamptz("used_at"),
  },
  (table) => [uniqueIndex("mfa_recovery_codes_lookup_key").on(table.userId, table.lookup)],
);

/** The step between a first factor and a session: `mfaToken`, stored as SHA-256, 5 minutes, 5 tries. */
export const mfaChallenges = pgTable("mfa_challenges", {
  id: text("id").primaryKey(),
  userId: text("user_id")
    .notNull()
    .references(() => users.id, { onDelete: "cascade" }),
  tokenHash: text("token_hash").notNull().unique(),
  /** How the first factor was passed, for the session's record (password, magic_link, …). */
  firstMethod: text("first_method").notNull(),
  /** What the client asked for: a session, or tokens (the password grant). */
  result: text("result", { enum: ["session", "tokens", "admin_session"] }).notNull(),
  redirectTo: text("redirect_to"),
  /** The organization a password grant asked tokens for: kept across the second step. */
  orgId: text("org_id"),
  attempts: integer("attempts").notNull().default(0),
  expiresAt: timestamptz("expires_at").notNull(),
  consumedAt: timestamptz("consumed_at"),
  createdAt: timestamptz("created_at").notNull(),
});

/**
 * The browsers and apps each user has signed in from, by their label ("Chrome on macOS"): a sign-in
 * from a label the account has not used before is a new device (security event and mail). Forgotten
 * a year after last use.
 */
export const knownDevices = pgTable(
  "auth_known_devices",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    label: text("label").notNull(),
    firstSeenAt: timestamptz("first_seen_at").notNull(),
    lastSeenAt: timestamptz("last_seen_at").notNull(),
  },
  (table) => [uniqueIndex("auth_known_devices_user_label_idx").on(table.userId, table.label)],
);

export const OAUTH_STATE_PURPOSES = ["sign_in", "link"] as const;

/**
 * Social-login providers an operator added at run time (those from BURROW_OAUTH_PROVIDERS live in the
 * configuration). The client secret is encrypted with the key ring and never shown again.
 */
export const oauthProviders = pgTable("oauth_providers", {
  /** The provider's key in URLs (`/v1/auth/oauth/{id}/start`). */
  id: text("id").primaryKey(),
  type: text("type", { enum: ["oidc", "google", "microsoft", "github"] }).notNull(),
  issuer: text("issuer"),
  clientId: text("client_id").notNull(),
  clientSecretEncrypted: text("client_secret_encrypted").notNull(),
  scopes: jsonb("scopes").$type<string[]>().notNull().default([]),
  trustEmail: boolean("trust_email").notNull().default(false),
  enabled: boolean("enabled").notNull().default(true),
  createdAt: timestamptz("created_at").notNull(),
  updatedAt: timestamptz("updated_at").notNull(),
});

/**
 * One social login in flight: 10 minutes, used once. The `state` sent through the provider and the
 * secret of the browser's cookie are stored as SHA-256 only; the PKCE verifier is encrypted (it must
 * be sent to the provider later). A native app's flow ends in a one-time code (hashed) that the app
 * exchanges with its own PKCE verifier, whose S256 challenge is kept here.
 */
export const oauthStates = pgTable("oauth_states", {
  id: text("id").primaryKey(),
  stateHash: text("state_hash").notNull().unique(),
  browserHash: text("browser_hash").notNull(),
  provider: text("provider").notNull(),
  purpose: text("purpose", { enum: OAUTH_STATE_PURPOSES }).notNull(),
  /** The signed-in user who links a provider (purpose `link`). */
  userId: text("user_id").references(() => users.id, { onDelete: "cascade" }),
  /** The session that started a link: it must still be live at the callback. */
  sessionId: text("session_id"),
  codeVerifierEncrypted: text("code_verifier_encrypted").notNull(),
  nonce: text("nonce").notNull(),
  redirectTo: text("redirect_to"),
  /** A native or single-page app's S256 challenge: the flow ends in a one-time code, not a cookie. */
  appCodeChallenge: text("app_code_challenge"),
  exchangeCodeHash: text("exchange_code_hash").unique(),
  exchangeUserId: text("exchange_user_id").references(() => users.id, { onDelete: "cascade" }),
  exchangeExpiresAt: timestamptz("exchange_expires_at"),
  exchangedAt: timestamptz("exchanged_at"),
  expiresAt: timestamptz("expires_at").notNull(),
  usedAt: timestamptz("used_at"),
  createdAt: timestamptz("created_at").notNull(),
});

/**
 * A provider account linked to a user. Its identity is (provider, subject) — never the address, which
 * a provider may let anyone claim. The provider's tokens are encrypted with the key ring.
 */
export const oauthAccounts = pgTable(
  "oauth_accounts",
  {
    id: text("id").primaryKey(),
    provider: text("provider").notNull(),
    subject: text("subject").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    email: text("email"),
    /** Whether the provider said it verified the address (as it said; trust is the provider's setting). */
    emailVerified: boolean("email_verified").notNull().default(false),
    profile: jsonb("profile").$type<Record<string, unknown>>().notNull().default({}),
    accessTokenEncrypted: text("access_token_encrypted"),
    refreshTokenEncrypted: text("refresh_token_encrypted"),
    createdAt: timestamptz("created_at").notNull(),
    updatedAt: timestamptz("updated_at").notNull(),
    lastSignInAt: timestamptz("last_sign_in_at"),
  },
  (table) => [
    uniqueIndex("oauth_accounts_provider_subject_key").on(table.provider, table.subject),
    index("oauth_accounts_user_idx").on(table.userId),
  ],
);
