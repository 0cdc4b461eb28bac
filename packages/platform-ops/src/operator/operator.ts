import { sql } from "drizzle-orm";
import {
  PlatformError,
  queryRows,
  type AuditLog,
  type Database,
  type DatabaseHandle,
  type MigrationStatus,
  type UserId,
} from "@burrow/platform-core";
import { normalizeEmail, type Auth } from "@burrow/platform-auth";
import type { Rbac } from "@burrow/platform-rbac";
import type { Housekeeping } from "../housekeeping/housekeeping.ts";
import type { Webhooks } from "../webhooks/webhooks.ts";

export interface SystemStatus {
  migrations: MigrationStatus;
  /** Jobs by type and state (queued, running, succeeded, dead). */
  jobs: Record<string, Record<string, number>>;
  signingKeys: { published: number; kids: string[] };
  /** Webhook endpoints failing now, or disabled for failing. */
  webhooks: { failingEndpoints: number };
}

/**
 * What an operator does on the server itself (the `burrow` command line): acts of the system, each
 * audited as such, for one account named by its address.
 */
export interface OperatorTools {
  status(): Promise<SystemStatus>;
  /**
   * Makes `email` a platform administrator. A new address gets an account and a one-time set-up
   * link (the operator hands it over); an existing account gets the role and no link.
   */
  createAdmin(email: string): Promise<{ userId: string; created: boolean; granted: boolean; setupLink: string | null }>;
  unlock(email: string): Promise<{ userId: string }>;
  revokeSessions(email: string): Promise<{ userId: string; revoked: number }>;
  /**
   * Ends every session of every account — after a suspected breach, say (ASVS V7.4.5). Refresh
   * tokens die with their sessions; API keys are not sessions and stay.
   */
  revokeAllSessions(): Promise<{ revoked: number }>;
  rotateKeys(): Promise<{ kid: string }>;
  cleanup(): Promise<Record<string, number>>;
}

const REQUEST = { userAgent: "burrow-cli" };

export function createOperatorTools(options: {
  database: Pick<DatabaseHandle, "db" | "migrationStatus">;
  auth: Pick<Auth, "users" | "notices" | "sessions" | "signingKeys">;
  rbac: Pick<Rbac, "roles">;
  housekeeping: Pick<Housekeeping, "sweepAll">;
  audit: Pick<AuditLog, "record">;
  webhooks: Pick<Webhooks, "failingEndpoints">;
}): OperatorTools {
  const { auth } = options;
  const db: Database = options.database.db;

  /**
   * The command line names an account by its primary address: an address another account merely
   * added is refused, so an operator never acts on (or grants rights to) an account they did not mean.
   */
  function primaryOnly<T extends { email: string; emailNormalized: string }>(user: T, email: string): T {
    if (user.emailNormalized !== normalizeEmail(email))
      throw new PlatformError("validation_failed", {
        detail: `${email} is another address of the account ${user.email}: name the account by its primary address.`,
      });
    return user;
  }

  async function userByEmail(email: string) {
    const user = await auth.users.findByEmail(db, email);
    if (user === undefined || user.status === "deleted")
      throw new PlatformError("not_found", { detail: `There is no account for ${email}.` });
    return primaryOnly(user, email);
  }

  return {
    async status() {
      const rows = await queryRows<{ type: string; status: string; count: number | string }>(
        db,
        sql`select type, status, count(*) as count from jobs group by type, status order by type, status`,
      );
      const jobs: SystemStatus["jobs"] = {};
      for (const row of rows) (jobs[row.type] ??= {})[row.status] = Number(row.count);
      const kids = auth.signingKeys.jwks().keys.map((key) => String(key.kid));
      return {
        migrations: await options.database.migrationStatus(),
        jobs,
        signingKeys: { published: kids.length, kids },
        webhooks: { failingEndpoints: await options.webhooks.failingEndpoints() },
      };
    },

    async createAdmin(email) {
      if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
        throw new PlatformError("validation_failed", { errors: [{ path: "email", message: "Not an email address" }] });
      return db.transaction(async (tx) => {
        const existing = await auth.users.claimAddress(tx, email);
        if (existing !== undefined && existing.status === "deleted")
          throw new PlatformError("not_found", { detail: `There is no account for ${email}.` });
        if (existing !== undefined) primaryOnly(existing, email);
        const user = existing ?? (await auth.users.insert(tx, { email }));
        if (existing === undefined)
          await options.audit.record(
            tx,
            { action: "user.created", actor: { type: "system" }, target: { type: "user", id: user.id } },
            REQUEST,
          );
        const granted = await options.rbac.roles.grantPlatformRoleAsOperator(tx, user.id, "platform_admin", REQUEST);
        const setupLink = existing === undefined ? await auth.notices.accountSetupLink(tx, user) : null;
        return { userId: user.id, created: existing === undefined, granted, setupLink };
      });
    },

    async unlock(email) {
      const user = await userByEmail(email);
      await auth.users.unlock(db, user.id as UserId, "system", REQUEST);
      return { userId: user.id };
    },

    async revokeSessions(email) {
      const user = await userByEmail(email);
      const revoked = await db.transaction(async (tx) => {
        const count = await auth.sessions.revokeAll(tx, user.id as UserId, "revoked_by_operator");
        await options.audit.record(
          tx,
          {
            action: "session.revoked",
            actor: { type: "system" },
            target: { type: "user", id: user.id },
            metadata: { sessions: count, reason: "revoked_by_operator" },
          },
          REQUEST,
        );
        return count;
      });
      return { userId: user.id, revoked };
    },

    async revokeAllSessions() {
      const revoked = await db.transaction(async (tx) => {
        const count = await auth.sessions.revokeEveryone(tx, "revoked_by_operator");
        await options.audit.record(
          tx,
          { action: "session.revoked_everyone", actor: { type: "system" }, metadata: { sessions: count } },
          REQUEST,
        );
        return count;
      });
      return { revoked };
    },

    rotateKeys: async () => ({ kid: await auth.signingKeys.rotate({ type: "system" }, REQUEST) }),
    cleanup: () => options.housekeeping.sweepAll(),
  };
}
