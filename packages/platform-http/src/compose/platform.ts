import {
  ConfigError,
  coreSweepers,
  createAuditLog,
  createKeyRing,
  createDatabase,
  createLogger,
  systemClock,
  type AuditLog,
  type Clock,
  type Config,
  type Database,
  type DatabaseHandle,
  type JobDefinition,
  type KeyRing,
  type Logger,
} from "@burrow/platform-core";
import { createAuth, type Auth } from "@burrow/platform-auth";
import { createRbac, type Invitations, type Rbac } from "@burrow/platform-rbac";
import {
  createAuditTrail,
  createHousekeeping,
  createOperatorTools,
  createPrometheusMetrics,
  createUserAdministration,
  createOverview,
  createSettingsView,
  createOAuthProviderAdministration,
  type OAuthProviderAdministration,
  createEntitlementAdministration,
  type EntitlementAdministration,
  type SettingsView,
  createEmailAdministration,
  type EmailAdministration,
  type Overview,
  type UserAdministration,
  createSecurityEvents,
  createWebhooks,
  type Webhooks,
  type AuditTrail,
  type PrometheusMetrics,
  type SecurityEvents,
  type Housekeeping,
  type OperatorTools,
} from "@burrow/platform-ops";
import { createEmail, type Email, type EmailTransport, type SmsTransport } from "@burrow/platform-email";
import { BUILT_IN_PERMISSIONS } from "@burrow/platform-rbac";
import { type BurrowHooks, wireHooks } from "./hooks.ts";

/** Everything the HTTP layer needs, composed once per process (or per test). */
export interface Platform {
  config: Config;
  database: DatabaseHandle;
  db: Database;
  clock: Clock;
  log: Logger;
  audit: AuditLog;
  keyRing: KeyRing;
  email: Email;
  auth: Auth;
  rbac: Rbac;
  invitations: Invitations;
  /** Operations: the audit log's search and export. */
  auditTrail: AuditTrail;
  /** Operators' user management (users:read, users:manage), for /v1/admin/users and the admin app. */
  userAdministration: UserAdministration;
  /** Security events (raised by the audit writer): list and resolve. */
  securityEvents: SecurityEvents;
  /** Operators' email: templates (preview, save, test) and the outbox (list, retry). */
  emailAdministration: EmailAdministration;
  /** Operators' view of an organization's plan, and the overrides they add or remove. */
  entitlementAdministration: EntitlementAdministration;
  /** The effective configuration (secrets redacted) and the signing keys, for operators. */
  settings: SettingsView;
  /** Social sign-in providers for operators: list (settings:read), add, change, test (oauth_providers:manage). */
  oauthProviders: OAuthProviderAdministration;
  /** The admin console's overview: accounts, sessions, sign-ins per day, the queue, open events. */
  overview: Overview;
  /** Sweeps expired rows on a schedule (its job is in `jobs`). */
  housekeeping: Housekeeping;
  /** What the `burrow` command line does on the server (acts of the system). */
  operator: OperatorTools;
  /** Signed webhooks: endpoints, deliveries and the audit observer that queues them. */
  webhooks: Webhooks;
  /** Burrow's Prometheus metrics: the counters the packages keep, HTTP requests, the queue. */
  prometheus: PrometheusMetrics;
  /** Job types this process runs, by type. */
  jobs: Record<string, JobDefinition>;
}

export interface ComposeOptions {
  config: Config;
  database: DatabaseHandle;
  clock?: Clock;
  log?: Logger;
  /** Replaces the configured email transport (tests, or a provider of your own). */
  emailTransport?: EmailTransport;
  /** Replaces the configured SMS transport. */
  smsTransport?: SmsTransport;
  /** The builder's own permissions (`resource:action` → description), added to the catalogue. */
  permissions?: Record<string, string>;
  /** The builder's logic at sign-up, sign-in and token minting. */
  hooks?: BurrowHooks;
}

const PERMISSION_NAME = /^[a-z][a-z0-9_]*(:[a-z][a-z0-9_]*)+$/;

/** A builder's permission must be `resource:action` and must not redefine one of Burrow's. */
export function checkBuilderPermissions(permissions: Record<string, string>): void {
  for (const [name, description] of Object.entries(permissions)) {
    if (!PERMISSION_NAME.test(name))
      throw new ConfigError(`permissions: "${name}" is not a permission name such as "projects:write"`);
    if (name in BUILT_IN_PERMISSIONS)
      throw new ConfigError(`permissions: "${name}" is one of Burrow's own permissions; choose another name`);
    if (typeof description !== "string" || description.trim() === "")
      throw new ConfigError(`permissions: "${name}" needs a description`);
  }
}

/** Wires the packages together over an open database. Tests call it with a test database and clock. */
export function composePlatform(options: ComposeOptions): Platform {
  const { config, database } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger({ level: config.logLevel });
  // First: every package counts through it.
  const prometheus = createPrometheusMetrics({ db: database.db });
  const { metrics } = prometheus;
  const keyRing = createKeyRing(config.encryptionKeys);
  const permissions = options.permissions ?? {};
  checkBuilderPermissions(permissions);
  const hooks = wireHooks(options.hooks ?? {}, { log, clock });
  // Webhooks watch the audit log (an event is queued in its change's transaction) and write to it:
  // built first, they reach the log and the permission resolver once those exist.
  const webhooks = createWebhooks({
    db: database.db,
    config,
    clock,
    keyRing,
    metrics,
    audit: () => audit,
    resolver: () => rbac.resolver,
  });
  const audit = createAuditLog({
    clock,
    secret: config.secret,
    storeRawIp: config.storeRawIp,
    metrics,
    observers: [webhooks.observe, ...hooks.observers],
  });
  const email = createEmail({
    db: database.db,
    config,
    clock,
    keyRing,
    log,
    metrics,
    ...(options.emailTransport ? { transport: options.emailTransport } : {}),
    ...(options.smsTransport ? { smsTransport: options.smsTransport } : {}),
  });
  // Rbac builds on auth and auth asks rbac's rules: rbac first, auth through its port, invitations last.
  const rbac = createRbac({
    db: database.db,
    clock,
    audit,
    elevationMaxMinutes: Math.floor(config.elevationMaxMs / 60_000),
    metrics,
    permissions,
  });
  const auth = createAuth({
    db: database.db,
    config,
    clock,
    audit,
    keyRing,
    email: email.outbox,
    sms: email.sms,
    access: { ...rbac.accessPolicy, claims: hooks.claims(rbac.accessPolicy.claims) },
    metrics,
    beforeSignIn: hooks.beforeSignIn,
  });
  const invitations = rbac.createInvitations({ config, auth, mailer: email.outbox });
  const housekeeping = createHousekeeping({
    db: database.db,
    clock,
    log,
    everyMs: config.housekeeping.everyMs,
    sweepers: [...coreSweepers(config.housekeeping), ...email.sweepers, ...auth.sweepers, webhooks.sweeper],
  });
  const auditTrail = createAuditTrail({ db: database.db, audit, resolver: rbac.resolver, secret: config.secret });
  const securityEvents = createSecurityEvents({
    db: database.db,
    audit,
    resolver: rbac.resolver,
    clock,
    secret: config.secret,
  });
  return {
    config,
    database,
    db: database.db,
    clock,
    log,
    audit,
    keyRing,
    email,
    auth,
    rbac,
    invitations,
    auditTrail,
    userAdministration: createUserAdministration({
      db: database.db,
      users: auth.users,
      sessions: auth.sessions,
      notices: auth.notices,
      factors: auth.factors,
      apiKeys: auth.apiKeys,
      organizations: rbac.organizations,
      flows: auth.flows,
      phones: auth.phones,
      emails: auth.emails,
      linkedAccounts: auth.linkedAccounts,
      impersonation: auth.impersonation,
      audit,
      resolver: rbac.resolver,
      clock,
    }),
    securityEvents,
    emailAdministration: createEmailAdministration({
      db: database.db,
      email,
      users: auth.users,
      audit,
      resolver: rbac.resolver,
      publicUrl: config.publicUrl,
    }),
    entitlementAdministration: createEntitlementAdministration({
      entitlements: rbac.entitlements,
      organizations: rbac.organizations,
      resolver: rbac.resolver,
    }),
    settings: createSettingsView({ config, signingKeys: auth.signingKeys, resolver: rbac.resolver }),
    oauthProviders: createOAuthProviderAdministration({
      db: database.db,
      providers: auth.oauthProviders,
      audit,
      resolver: rbac.resolver,
      clock,
    }),
    overview: createOverview({
      db: database.db,
      clock,
      users: auth.users,
      sessions: auth.sessions,
      outbox: email.outbox,
      auditTrail,
      securityEvents,
      resolver: rbac.resolver,
    }),
    housekeeping,
    prometheus,
    webhooks,
    operator: createOperatorTools({ database, auth, rbac, housekeeping, audit, webhooks }),
    jobs: { ...email.jobs, ...auth.jobs, ...housekeeping.jobs, ...webhooks.jobs, ...hooks.jobs },
  };
}

/**
 * Opens the configured database, applies migrations, composes the platform and loads what it keeps
 * in memory (signing keys), reloading that when another node changes it.
 */
export async function openPlatform(
  config: Config,
  options: Omit<ComposeOptions, "config" | "database"> = {},
): Promise<Platform> {
  const database = await createDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    maxConnections: config.databasePoolSize,
  });
  let platform: Platform;
  try {
    await database.migrate();
    platform = composePlatform({ ...options, config, database });
  } catch (error) {
    // A refused option (a clashing permission) must not leave the embedded database locked.
    await database.close();
    throw error;
  }
  await platform.auth.signingKeys.load();
  await listenForChanges(platform);
  return platform;
}

/**
 * Subscribes what the packages keep in memory (signing keys, cached sessions, permissions) to the
 * channels other nodes announce changes on; returns the function that unsubscribes them all. Until
 * this has run, the session cache serves nothing.
 */
export async function listenForChanges(platform: Platform): Promise<() => Promise<void>> {
  const unsubscribes: (() => Promise<void>)[] = [];
  for (const listener of [...platform.auth.listeners, ...platform.rbac.listeners]) {
    const { channel } = listener;
    const onConnectionChange = listener.onConnectionChange;
    unsubscribes.push(
      await platform.database.listen(
        channel,
        (payload) => {
          Promise.resolve()
            .then(() => listener.onNotify(payload))
            .catch((error: unknown) =>
              platform.log.error("a notification handler failed", { channel, error: String(error) }),
            );
        },
        onConnectionChange === undefined
          ? {}
          : {
              onConnectionChange(connected) {
                onConnectionChange(connected);
                if (connected) platform.log.info("listening for changes", { channel });
                else platform.log.warn("stopped hearing changes; reading the database until back", { channel });
              },
            },
      ),
    );
  }
  return async () => {
    for (const unsubscribe of unsubscribes) await unsubscribe();
  };
}
