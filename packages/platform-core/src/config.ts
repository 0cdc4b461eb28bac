import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import { z } from "zod";
import { parseEncryptionKeys, randomToken, type EncryptionKey } from "./crypto.ts";
import { parseDuration, parseRatePolicy, type RatePolicy } from "./duration.ts";

/** The whole validated configuration. Every package reads its settings from here. */
export interface Config {
  env: "development" | "test" | "production";
  /** True when running on the embedded database with generated secrets. */
  embedded: boolean;
  port: number;
  /** The admin console's port (`ADMIN_PORT`, 3001); `off` (null) serves no console. */
  adminPort: number | null;
  /** The admin console's origin (`ADMIN_URL`): its links, and the only origin its forms are accepted from. */
  adminUrl: string;
  /** The address the API listens on (`HOST`): 127.0.0.1 outside production, 0.0.0.0 in production. */
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  /** PostgreSQL connections in one node's pool (`DATABASE_POOL_SIZE`, else `defaultPoolSize()`). */
  databasePoolSize: number;
  /** Origin used to build links and cookie attributes. Never taken from a request's Host. */
  publicUrl: string;
  /**
   * The path Burrow's routes are mounted under in the builder's app (`BURROW_BASE_PATH`, such as
   * `/auth`); empty when they are at the root. Links in emails and the OpenAPI document include it.
   */
  basePath: string;
  smtpUrl: string | undefined;
  /** Server secret for HMACs (IP hashing and the like). ≥32 characters. */
  secret: string;
  encryptionKeys: EncryptionKey[];
  /** Origins allowed to call the API from a browser (CORS and CSRF). Includes publicUrl's origin. */
  allowedOrigins: string[];
  /** Origins `redirectTo` may point at. */
  redirectOrigins: string[];
  /** Proxy addresses whose X-Forwarded-For is believed. */
  trustedProxies: string[];
  /** When set, /metrics needs `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  bodyLimitBytes: number;
  storeRawIp: boolean;
  lockout: RatePolicy & { maxLockMs: number };
  /** Second-factor failures per user, counted apart from password failures (a right password never clears them). */
  mfaLockout: RatePolicy & { maxLockMs: number };
  /** Per-IP token bucket on auth routes; undefined when turned off. */
  ipRateLimit: RatePolicy | undefined;
  session: { idleTimeoutMs: number; absoluteLifetimeMs: number; activityRefreshMs: number };
  /**
   * Validated sessions (and access-token claims) kept in process memory, evicted on every node by
   * NOTIFY; `maxEntries` bounds each of the two caches. Undefined when turned off.
   */
  sessionCache: { maxEntries: number } | undefined;
  emailVerification: "required" | "off";
  /** Just-in-time elevation: the longest an elevation may last. */
  elevationMaxMs: number;
  /** `all`: every user must have a second factor (roles can require it too, at composition). */
  mfaRequired: "off" | "all";
  /** How often expired rows are swept, and how long audit entries are kept. */
  housekeeping: { everyMs: number; auditRetentionMs: number; securityEventRetentionMs: number };
  webhooks: {
    /** Development only: deliveries may go to 127.0.0.1 / ::1 (refused in production). */
    allowLoopback: boolean;
    /** A delivery attempt is given up after this long. */
    timeoutMs: number;
    /** An endpoint is disabled after this many failed attempts in a row. */
    disableAfterFailures: number;
  };
  webauthn: {
    /** The relying-party id: PUBLIC_URL's host unless set. */
    rpId: string;
    rpName: string;
    /** Origins a passkey ceremony may come from. */
    origins: string[];
  };
  tokens: {
    /** Access-token lifetime. */
    accessTtlMs: number;
    /** The `aud` of access tokens; PUBLIC_URL's origin unless set. */
    audience: string;
    refreshIdleMs: number;
    refreshLifetimeMs: number;
    /** Concurrent refreshes with one token inside this window all succeed; 0 turns it off. */
    refreshGraceMs: number;
    /**
     * Whether `grantType: "password"` is offered (the resource-owner password grant, for first-party
     * native apps). ASVS V10.4.4 says it should not be used; a deployment without such apps turns it off.
     */
    passwordGrant: boolean;
    /** Token bucket per API key. */
    apiKeyRateLimit: RatePolicy;
  };
  sms: { twilio: { accountSid: string; authToken: string; from: string; baseUrl: string | undefined } | undefined };
  email: {
    /** The From header of every message. */
    from: string;
    productName: string;
    brandColor: string;
  };
  /** Social login: the providers from `BURROW_OAUTH_PROVIDERS`, by id (operators add more at run time). */
  oauth: { providers: Record<string, OAuthProviderConfig> };
  logLevel: "debug" | "info" | "warn" | "error";
}

export const OAUTH_PROVIDER_TYPES = ["oidc", "google", "microsoft", "github"] as const;
export type OAuthProviderType = (typeof OAUTH_PROVIDER_TYPES)[number];

/** One social-login provider: a generic OpenID Connect issuer, or a preset. */
export interface OAuthProviderConfig {
  /** The provider's key in URLs (`/v1/auth/oauth/{id}/start`). */
  id: string;
  type: OAuthProviderType;
  /** The OpenID Connect issuer (discovery at `<issuer>/.well-known/openid-configuration`); presets fill it in. */
  issuer: string | undefined;
  clientId: string;
  clientSecret: string;
  scopes: string[];
  /** Whether the provider's `email_verified` is believed: only then is an address marked verified or linked by it. */
  trustEmail: boolean;
  /** GitHub's OAuth 2.0 and API endpoints (defaults: github.com and api.github.com); undefined for OpenID Connect. */
  endpoints?: OAuthGitHubEndpoints | undefined;
}

/** Where a GitHub sign-in goes: OAuth 2.0 without OpenID Connect, so no discovery names these. */
export interface OAuthGitHubEndpoints {
  authorization: string;
  token: string;
  /** `GET` → `{ id, login, name, avatar_url }`. */
  user: string;
  /** `GET` → `[{ email, primary, verified }]` (scope `user:email`). */
  emails: string;
}

/** github.com's endpoints; GitHub Enterprise Server (or a test's fake) is given in `endpoints`. */
export const OAUTH_GITHUB_ENDPOINTS: OAuthGitHubEndpoints = {
  authorization: "https://github.com/login/oauth/authorize",
  token: "https://github.com/login/oauth/access_token",
  user: "https://api.github.com/user",
  emails: "https://api.github.com/user/emails",
};

/** Presets' issuers; Microsoft's names the tenant, so it is given in the configuration. */
export const OAUTH_PRESET_ISSUERS: Partial<Record<OAuthProviderType, string>> = {
  google: "https://accounts.google.com",
};

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * An issuer must be https. Plain http is allowed only to a loopback address outside production (a
 * provider on the developer's machine, or the tests' in-process one): anywhere else an attacker on the
 * path could swap the provider's keys.
 */
export function issuerAllowed(issuer: string, production: boolean): boolean {
  if (!URL.canParse(issuer)) return false;
  const url = new URL(issuer);
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && !production && LOOPBACK_HOSTS.has(url.hostname);
}

const oauthProviderEntry = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "id must be 1-40 lower-case letters, digits or dashes"),
    type: z.enum(OAUTH_PROVIDER_TYPES),
    issuer: z.url().optional(),
    clientId: z.string().min(1).max(500),
    clientSecret: z.string().min(1).max(2000),
    scopes: z
      .array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/))
      .max(30)
      .optional(),
    trustEmail: z.boolean().optional(),
    endpoints: z
      .object({ authorization: z.url(), token: z.url(), user: z.url(), emails: z.url() })
      .partial()
      .strict()
      .optional(),
  })
  .strict()
  .refine((entry) => entry.type === "github" || entry.type === "google" || entry.issuer !== undefined, {
    message:
      "issuer is required for oidc and microsoft providers (microsoft: https://login.microsoftonline.com/<tenant id>/v2.0)",
  })
  .refine((entry) => entry.type === "github" || entry.endpoints === undefined, {
    message: "endpoints are for github providers only (OpenID Connect providers are discovered from their issuer)",
  });

const oauthProviderList = z
  .string()
  .transform((value, context) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      context.addIssue({ code: "custom", message: "BURROW_OAUTH_PROVIDERS must be a JSON array" });
      return z.NEVER;
    }
  })
  .pipe(z.array(oauthProviderEntry).max(50))
  .refine((entries) => new Set(entries.map((entry) => entry.id)).size === entries.length, {
    message: "BURROW_OAUTH_PROVIDERS: each provider needs its own id",
  });

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const MIN_SECRET_LENGTH = 32;

const durationText = (name: string) =>
  z.string().transform((value, context) => {
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0) {
      context.addIssue({ code: "custom", message: `${name} must be a duration such as 15m, 7d or 30s` });
      return z.NEVER;
    }
    return ms;
  });

const rateText = (name: string, example: string) =>
  z.string().transform((value, context) => {
    const policy = parseRatePolicy(value);
    if (policy === undefined) {
      context.addIssue({ code: "custom", message: `${name} must be written count/duration, for example ${example}` });
      return z.NEVER;
    }
    return policy;
  });

const origin = z.url().transform((value) => new URL(value).origin);
const originList = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((entry) => entry.trim())
      .filter((entry) => entry.length > 0),
  )
  .pipe(z.array(origin));

const booleanText = z.enum(["true", "false", "1", "0"]).transform((value) => value === "true" || value === "1");

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  ADMIN_PORT: z
    .union([z.literal("off"), z.coerce.number().int().min(0).max(65535)])
    .default(3001)
    .transform((value) => (value === "off" ? null : value)),
  ADMIN_URL: z.url().optional(),
  HOST: z
    .string()
    .trim()
    .min(1)
    .max(253)
    .regex(/^[A-Za-z0-9.:-]+$/, "HOST must be an address to listen on, such as 0.0.0.0, 127.0.0.1 or ::")
    .optional(),
  BURROW_DATA_DIR: z.string().min(1).default("./.burrow"),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// URL")
    .optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1_000).optional(),
  PUBLIC_URL: z
    .url({ message: "PUBLIC_URL must be an origin with its scheme, such as https://example.com" })
    .refine((value) => !URL.canParse(value) || ["http:", "https:"].includes(new URL(value).protocol), {
      message: "PUBLIC_URL must start with https:// (or http:// in development)",
    })
    .refine((value) => !URL.canParse(value) || (new URL(value).pathname === "/" && new URL(value).search === ""), {
      message:
        "PUBLIC_URL must be an origin such as https://example.com, without a path: to serve Burrow under a path, set BURROW_BASE_PATH",
    })
    .optional(),
  BURROW_BASE_PATH: z
    .string()
    .regex(
      /^(\/[A-Za-z0-9._~-]+)*$/,
      "BURROW_BASE_PATH must be a path such as /auth (a leading slash, no trailing slash), or empty",
    )
    .refine((value) => !value.split("/").some((segment) => segment === "." || segment === ".."), {
      message: "BURROW_BASE_PATH may not contain . or .. segments",
    })
    .default(""),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, "SMTP_URL must be an smtp:// or smtps:// URL")
    .optional(),
  BURROW_SECRET: z.string().optional(),
  BURROW_METRICS_TOKEN: z.string().min(16, "BURROW_METRICS_TOKEN must be at least 16 characters").optional(),
  BURROW_ENCRYPTION_KEYS: z.string().optional(),
  BURROW_ALLOWED_ORIGINS: originList.default([]),
  BURROW_REDIRECT_ORIGINS: originList.default([]),
  BURROW_TRUSTED_PROXIES: z
    .string()
    .default("")
    .transform((value) =>
      value
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry.length > 0),
    ),
  BURROW_BODY_LIMIT: z.coerce.number().int().min(1024).max(10_485_760).default(102_400),
  BURROW_STORE_RAW_IP: booleanText.default(false),
  BURROW_LOCKOUT: rateText("BURROW_LOCKOUT", "5/15m").default({ count: 5, windowMs: 15 * 60_000 }),
  BURROW_LOCKOUT_MAX: durationText("BURROW_LOCKOUT_MAX").default(24 * 3_600_000),
  BURROW_MFA_LOCKOUT: rateText("BURROW_MFA_LOCKOUT", "10/15m").default({ count: 10, windowMs: 15 * 60_000 }),
  BURROW_IP_RATE_LIMIT: z
    .union([z.literal("off"), rateText("BURROW_IP_RATE_LIMIT", "20/1s")])
    .default({ count: 20, windowMs: 1000 }),
  BURROW_SESSION_CACHE: z.enum(["on", "off"]).default("on"),
  BURROW_SESSION_CACHE_MAX: z.coerce.number().int().min(1).max(10_000_000).default(100_000),
  BURROW_SESSION_IDLE: durationText("BURROW_SESSION_IDLE").default(7 * 86_400_000),
  BURROW_SESSION_LIFETIME: durationText("BURROW_SESSION_LIFETIME").default(30 * 86_400_000),
  BURROW_ELEVATION_MAX: durationText("BURROW_ELEVATION_MAX").default(4 * 3_600_000),
  BURROW_AUDIT_RETENTION: durationText("BURROW_AUDIT_RETENTION").default(365 * 86_400_000),
  BURROW_SECURITY_EVENT_RETENTION: durationText("BURROW_SECURITY_EVENT_RETENTION").default(730 * 86_400_000),
  BURROW_HOUSEKEEPING_EVERY: durationText("BURROW_HOUSEKEEPING_EVERY").default(3_600_000),
  BURROW_MFA_REQUIRED: z.enum(["off", "all"]).default("off"),
  BURROW_WEBHOOK_ALLOW_LOOPBACK: booleanText.default(false),
  // An attempt ends well within its job's 60-second lease: one running past it could be taken over and
  // sent a second time beside itself.
  BURROW_WEBHOOK_TIMEOUT: durationText("BURROW_WEBHOOK_TIMEOUT")
    .refine((ms) => ms <= 30_000, "BURROW_WEBHOOK_TIMEOUT must be at most 30s (a delivery's job is leased for 60s)")
    .default(10_000),
  BURROW_WEBHOOK_DISABLE_AFTER: z.coerce.number().int().min(1).max(10_000).default(20),
  BURROW_RP_ID: z
    .string()
    .regex(/^[a-z0-9.-]+$/, "BURROW_RP_ID must be a host name such as example.com")
    .optional(),
  BURROW_WEBAUTHN_ORIGINS: originList.default([]),
  BURROW_ACCESS_TOKEN_TTL: durationText("BURROW_ACCESS_TOKEN_TTL").default(10 * 60_000),
  BURROW_TOKEN_AUDIENCE: z.string().min(1).max(200).optional(),
  BURROW_REFRESH_IDLE: durationText("BURROW_REFRESH_IDLE").default(7 * 86_400_000),
  BURROW_REFRESH_LIFETIME: durationText("BURROW_REFRESH_LIFETIME").default(30 * 86_400_000),
  BURROW_REFRESH_GRACE: z.union([z.literal("0"), durationText("BURROW_REFRESH_GRACE")]).default(10_000),
  BURROW_PASSWORD_GRANT: z.enum(["on", "off"]).default("on"),
  BURROW_API_KEY_RATE_LIMIT: rateText("BURROW_API_KEY_RATE_LIMIT", "50/100ms").default({ count: 50, windowMs: 100 }),
  BURROW_EMAIL_VERIFICATION: z.enum(["required", "off"]).default("required"),
  SMS_TWILIO_ACCOUNT_SID: z.string().min(1).optional(),
  SMS_TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
  SMS_FROM: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, "SMS_FROM must be an E.164 number such as +14155550123")
    .optional(),
  SMS_TWILIO_BASE_URL: z.url().optional(),
  EMAIL_FROM: z.string().min(3).max(320).optional(),
  BURROW_PRODUCT_NAME: z.string().trim().min(1).max(100).default("Burrow"),
  BURROW_BRAND_COLOR: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, "BURROW_BRAND_COLOR must be a colour written #rrggbb")
    .default("#4f46e5"),
  BURROW_OAUTH_PROVIDERS: oauthProviderList.default([]),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

interface EmbeddedSecrets {
  secret: string;
  encryptionKeys: string;
}

/** Reads the data directory's secrets, creating them once (mode 0600) when absent. */
function loadEmbeddedSecrets(dataDir: string): EmbeddedSecrets {
  const file = join(dataDir, "secrets.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as EmbeddedSecrets;
  mkdirSync(dataDir, { recursive: true });
  const secrets: EmbeddedSecrets = {
    secret: randomToken(32),
    encryptionKeys: `v1:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`,
  };
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secrets;
}

/**
 * PostgreSQL connections a pool opens when not told: twice this machine's cores and one, at most 10
 * (postgres.js's own default). Queries beyond it wait in postgres.js's queue or are pipelined on a
 * busy connection. More connections than the database can run at once only add its backends' context
 * switches and lock traffic: on 2 cores shared by API and database, 5 connections against 10 took a
 * third less of the database's CPU per refresh rotation (docs/benchmarks.md). The machine's cores
 * stand for the database's when they share it, as in the one-machine install; for a database on its
 * own machine the operator sets `DATABASE_POOL_SIZE` (docs/configuration.md).
 */
export const defaultPoolSize = (cores = availableParallelism()): number => Math.min(10, 2 * cores + 1);

/**
 * Builds the configuration from environment variables (see docs/configuration.md).
 * With no environment, Burrow runs embedded: PGlite in the data directory and secrets generated
 * once there. With NODE_ENV=production, a missing or short secret is refused by name.
 * @example const config = loadConfig(process.env)
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const values = parsed.data;
  const production = values.NODE_ENV === "production";
  const dataDir = resolve(values.BURROW_DATA_DIR);

  let secret = values.BURROW_SECRET;
  let keysText = values.BURROW_ENCRYPTION_KEYS;
  if (production) {
    if (secret === undefined || secret.length < MIN_SECRET_LENGTH) {
      throw new ConfigError(
        `BURROW_SECRET must be set to at least ${MIN_SECRET_LENGTH} random characters in production (for example: openssl rand -base64 48)`,
      );
    }
    if (keysText === undefined) {
      throw new ConfigError(
        "BURROW_ENCRYPTION_KEYS must be set in production (for example: v1:$(openssl rand -base64 32))",
      );
    }
    if (values.PUBLIC_URL === undefined)
      throw new ConfigError("PUBLIC_URL must be set in production (the origin users reach Burrow at)");
    if (values.BURROW_WEBHOOK_ALLOW_LOOPBACK)
      throw new ConfigError("BURROW_WEBHOOK_ALLOW_LOOPBACK is for development: it is refused in production");
  } else if (secret === undefined || keysText === undefined) {
    const embeddedSecrets = loadEmbeddedSecrets(dataDir);
    secret ??= embeddedSecrets.secret;
    keysText ??= embeddedSecrets.encryptionKeys;
  }
  if (secret.length < MIN_SECRET_LENGTH)
    throw new ConfigError(`BURROW_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);

  let encryptionKeys: EncryptionKey[];
  try {
    encryptionKeys = parseEncryptionKeys(keysText);
  } catch (error) {
    throw new ConfigError(`BURROW_ENCRYPTION_KEYS: ${(error as Error).message}`);
  }

  const oauthProviders: Record<string, OAuthProviderConfig> = {};
  for (const entry of values.BURROW_OAUTH_PROVIDERS) {
    const issuer = entry.issuer ?? OAUTH_PRESET_ISSUERS[entry.type];
    if (issuer !== undefined && !issuerAllowed(issuer, production))
      throw new ConfigError(
        `BURROW_OAUTH_PROVIDERS: the issuer of ${entry.id} must be an https:// URL (http:// only to a loopback address outside production)`,
      );
    const endpoints = entry.type === "github" ? { ...OAUTH_GITHUB_ENDPOINTS, ...entry.endpoints } : undefined;
    // The issuer's rule, for the same reason: a plain-http token or user endpoint could be answered by anyone on the path.
    for (const [name, url] of Object.entries(endpoints ?? {}))
      if (!issuerAllowed(url, production))
        throw new ConfigError(
          `BURROW_OAUTH_PROVIDERS: endpoints.${name} of ${entry.id} must be an https:// URL (http:// only to a loopback address outside production)`,
        );
    oauthProviders[entry.id] = {
      id: entry.id,
      type: entry.type,
      issuer,
      clientId: entry.clientId,
      clientSecret: entry.clientSecret,
      scopes: entry.scopes ?? [],
      // Google and GitHub send a verification link before they call an address verified.
      trustEmail: entry.trustEmail ?? (entry.type === "google" || entry.type === "github"),
      ...(endpoints === undefined ? {} : { endpoints }),
    };
  }

  const publicUrl = new URL(values.PUBLIC_URL ?? `http://localhost:${values.PORT}`).origin;
  const adminUrl = new URL(values.ADMIN_URL ?? `http://localhost:${values.ADMIN_PORT ?? 3001}`).origin;
  const allowedOrigins = [...new Set([publicUrl, ...values.BURROW_ALLOWED_ORIGINS])];
  return {
    env: values.NODE_ENV,
    embedded: values.DATABASE_URL === undefined,
    port: values.PORT,
    adminPort: values.ADMIN_PORT,
    adminUrl,
    // A container needs 0.0.0.0 to be reachable; a laptop should not offer its development server to the network.
    host: values.HOST ?? (production ? "0.0.0.0" : "127.0.0.1"),
    dataDir,
    databaseUrl: values.DATABASE_URL,
    databasePoolSize: values.DATABASE_POOL_SIZE ?? defaultPoolSize(),
    publicUrl,
    basePath: values.BURROW_BASE_PATH,
    smtpUrl: values.SMTP_URL,
    secret,
    encryptionKeys,
    allowedOrigins,
    redirectOrigins: [...new Set([publicUrl, ...values.BURROW_REDIRECT_ORIGINS])],
    trustedProxies: values.BURROW_TRUSTED_PROXIES,
    metricsToken: values.BURROW_METRICS_TOKEN,
    bodyLimitBytes: values.BURROW_BODY_LIMIT,
    storeRawIp: values.BURROW_STORE_RAW_IP,
    lockout: { ...values.BURROW_LOCKOUT, maxLockMs: values.BURROW_LOCKOUT_MAX },
    mfaLockout: { ...values.BURROW_MFA_LOCKOUT, maxLockMs: values.BURROW_LOCKOUT_MAX },
    ipRateLimit: values.BURROW_IP_RATE_LIMIT === "off" ? undefined : values.BURROW_IP_RATE_LIMIT,
    session: {
      idleTimeoutMs: values.BURROW_SESSION_IDLE,
      absoluteLifetimeMs: values.BURROW_SESSION_LIFETIME,
      activityRefreshMs: 5 * 60_000,
    },
    sessionCache: values.BURROW_SESSION_CACHE === "off" ? undefined : { maxEntries: values.BURROW_SESSION_CACHE_MAX },
    emailVerification: values.BURROW_EMAIL_VERIFICATION,
    mfaRequired: values.BURROW_MFA_REQUIRED,
    elevationMaxMs: values.BURROW_ELEVATION_MAX,
    housekeeping: {
      everyMs: values.BURROW_HOUSEKEEPING_EVERY,
      auditRetentionMs: values.BURROW_AUDIT_RETENTION,
      securityEventRetentionMs: values.BURROW_SECURITY_EVENT_RETENTION,
    },
    webhooks: {
      allowLoopback: values.BURROW_WEBHOOK_ALLOW_LOOPBACK,
      timeoutMs: values.BURROW_WEBHOOK_TIMEOUT,
      disableAfterFailures: values.BURROW_WEBHOOK_DISABLE_AFTER,
    },
    webauthn: {
      rpId: values.BURROW_RP_ID ?? new URL(publicUrl).hostname,
      rpName: values.BURROW_PRODUCT_NAME,
      // The admin console's own pages run the passkey ceremonies of its sign-in and step-up.
      origins: [...new Set([publicUrl, adminUrl, ...values.BURROW_WEBAUTHN_ORIGINS])],
    },
    tokens: {
      accessTtlMs: values.BURROW_ACCESS_TOKEN_TTL,
      audience: values.BURROW_TOKEN_AUDIENCE ?? publicUrl,
      refreshIdleMs: values.BURROW_REFRESH_IDLE,
      refreshLifetimeMs: values.BURROW_REFRESH_LIFETIME,
      refreshGraceMs: values.BURROW_REFRESH_GRACE === "0" ? 0 : values.BURROW_REFRESH_GRACE,
      passwordGrant: values.BURROW_PASSWORD_GRANT === "on",
      apiKeyRateLimit: values.BURROW_API_KEY_RATE_LIMIT,
    },
    sms: {
      twilio:
        values.SMS_TWILIO_ACCOUNT_SID !== undefined &&
        values.SMS_TWILIO_AUTH_TOKEN !== undefined &&
        values.SMS_FROM !== undefined
          ? {
              accountSid: values.SMS_TWILIO_ACCOUNT_SID,
              authToken: values.SMS_TWILIO_AUTH_TOKEN,
              from: values.SMS_FROM,
              baseUrl: values.SMS_TWILIO_BASE_URL,
            }
          : undefined,
    },
    email: {
      from: values.EMAIL_FROM ?? `"${values.BURROW_PRODUCT_NAME}" <no-reply@${new URL(publicUrl).hostname}>`,
      productName: values.BURROW_PRODUCT_NAME,
      brandColor: values.BURROW_BRAND_COLOR,
    },
    oauth: { providers: oauthProviders },
    logLevel: values.LOG_LEVEL,
  };
}

/** Keys whose values are secrets: shown as set or not, never their value. */
const SECRET_SETTING = /secret|password|token$|authtoken|encryptionkeys/i;

/**
 * The effective configuration as settings an operator can read: one `path = value` per leaf, with
 * every secret replaced by whether it is set, and credentials cut out of URLs. Durations stay in ms.
 */
export function describeConfig(config: Config): { path: string; value: string }[] {
  const out: { path: string; value: string }[] = [];
  const walk = (value: unknown, path: string) => {
    const key = path.slice(path.lastIndexOf(".") + 1);
    // A switch (tokens.passwordGrant) is never a secret, whatever its name.
    if (SECRET_SETTING.test(key) && typeof value !== "boolean") {
      const set = value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
      out.push({
        path,
        value:
          key === "encryptionKeys" && Array.isArray(value)
            ? `set (${value.map((entry) => (entry as { version: string }).version).join(", ")}; values redacted)`
            : set
              ? "set (redacted)"
              : "not set",
      });
      return;
    }
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [child, item] of Object.entries(value)) walk(item, path === "" ? child : `${path}.${child}`);
      return;
    }
    const text = Array.isArray(value) ? value.map(String).join(", ") : value === undefined ? "not set" : String(value);
    // postgres://user:password@host/db, smtp://user:pass@host: the credentials never show.
    out.push({ path, value: text.replace(/\/\/([^/@\s]+)@/g, "//[redacted]@") });
  };
  walk(config, "");
  return out;
}
