import {
  PlatformError,
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
import { createAuth, DEFAULT_USER_SCOPES, type Auth } from "@burrow/platform-auth";
import { covers, createRbac, type Rbac } from "@burrow/platform-rbac";
import { createEmail, type Email, type EmailTransport, type SmsTransport } from "@burrow/platform-email";

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
}

/** Wires the packages together over an open database. Tests call it with a test database and clock. */
export function composePlatform(options: ComposeOptions): Platform {
  const { config, database } = options;
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger({ level: config.logLevel });
  const audit = createAuditLog({ clock, secret: config.secret, storeRawIp: config.storeRawIp });
  const keyRing = createKeyRing(config.encryptionKeys);
  const email = createEmail({
    db: database.db,
    config,
    clock,
    keyRing,
    log,
    ...(options.emailTransport ? { transport: options.emailTransport } : {}),
    ...(options.smsTransport ? { smsTransport: options.smsTransport } : {}),
  });
  // Auth's hooks ask rbac, and rbac's invitations use auth: the hooks read `rbac` only when called.
  let rbac: Rbac | undefined;
  const auth = createAuth({
    db: database.db,
    config,
    clock,
    audit,
    keyRing,
    email: email.outbox,
    sms: email.sms,
    // Pointing the wrong way for an import (rbac builds on auth), so wired here: platform roles decide.
    mfaRequiredFor: (tx, userId) => rbac!.can(userId, "*", { db: tx }),
    // Access tokens carry the roles and permissions for the organization they are minted for.
    claims: async (userId, { orgId }) => {
      const resolved = await rbac!.resolver.resolve(userId, orgId);
      const permissions = [...resolved.patterns].sort();
      if (orgId === null) return permissions.length === 0 ? {} : { permissions };
      // Not a member (or no such organization) and no platform permission to read it: one answer for both.
      if (resolved.orgRole === null && !covers(resolved.patterns, "org:read"))
        throw new PlatformError("forbidden", { detail: "You cannot act for that organization." });
      return { org_id: orgId, org_role: resolved.orgRole, permissions };
    },
    // A key never carries more than its creator holds: their own profile, plus their platform permissions.
    grantableScopes: async (userId) => [...DEFAULT_USER_SCOPES, ...(await rbac!.resolver.resolve(userId)).patterns],
    // In the transaction that suspends or deletes a user: no eligibility or elevation outlives the account.
    onUserDeactivated: (tx, userId) => rbac!.elevations.endAllFor(tx, userId),
  });
  rbac = createRbac({
    db: database.db,
    clock,
    audit,
    elevationMaxMinutes: Math.floor(config.elevationMaxMs / 60_000),
    // Elevation into a role holding `*` needs a second factor, as holding `*` does.
    hasSecondFactor: async (db, userId) => (await auth.factors.methods(db, userId)).length > 0,
    invitations: { config, auth, mailer: email.outbox },
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
    jobs: { ...email.jobs, ...auth.jobs },
  };
}

/**
 * Opens the configured database, applies migrations, composes the platform and loads what it keeps
 * in memory (signing keys), reloading that when another node changes it.
 */
export async function openPlatform(config: Config): Promise<Platform> {
  const database = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  await database.migrate();
  const platform = composePlatform({ config, database });
  await platform.auth.signingKeys.load();
  for (const listener of [...platform.auth.listeners, ...platform.rbac.listeners]) {
    await database.listen(listener.channel, (payload) => {
      Promise.resolve()
        .then(() => listener.onNotify(payload))
        .catch((error: unknown) =>
          platform.log.error("a notification handler failed", { channel: listener.channel, error: String(error) }),
        );
    });
  }
  return platform;
}
