// What the admin console's overview shows: accounts by status, live sessions, sign-ups and sign-ins
// per day, the queue, open security events. Each part is read through the package that owns its
// table, and only the parts the operator's permissions cover are read at all.
import { type Clock, type Database, jobCounts, PlatformError } from "@burrow/platform-core";
import type { Sessions, UserStatus, Users } from "@burrow/platform-auth";
import type { EmailStatus, Outbox } from "@burrow/platform-email";
import type { PermissionResolver } from "@burrow/platform-rbac";
import type { AuditTrail } from "../audit-trail/audit-trail.ts";
import type { SecurityEvents } from "../security-events/security-events.ts";

export interface DailyActivity {
  /** A UTC day, `YYYY-MM-DD`. */
  day: string;
  signUps: number;
  signIns: number;
  failedSignIns: number;
}

export interface OverviewSummary {
  /** users:read */
  users: { byStatus: Record<UserStatus, number>; liveSessions: number } | null;
  /** audit:read: the last `days` UTC days, oldest first, today included. */
  activity: DailyActivity[] | null;
  /** audit:read */
  openSecurityEvents: number | null;
  /** Every operator: jobs by type and state (finished ones left out), and email messages by status. */
  queue: { jobs: { type: string; state: string; count: number }[]; emails: Record<EmailStatus, number> };
}

export interface Overview {
  summary(actorId: string, options?: { days?: number }): Promise<OverviewSummary>;
}

const ACTIVITY = {
  "user.signed_up": "signUps",
  "user.signed_in": "signIns",
  "user.sign_in_failed": "failedSignIns",
} as const;
const DAY_MS = 86_400_000;

export function createOverview(options: {
  db: Database;
  clock: Clock;
  users: Pick<Users, "countByStatus">;
  sessions: Pick<Sessions, "countLive">;
  outbox: Pick<Outbox, "countByStatus">;
  auditTrail: Pick<AuditTrail, "dailyCounts">;
  securityEvents: Pick<SecurityEvents, "countOpen">;
  resolver: Pick<PermissionResolver, "resolve" | "can">;
}): Overview {
  const { db, clock, resolver } = options;
  return {
    async summary(actorId, { days = 14 } = {}) {
      if ((await resolver.resolve(actorId)).patterns.size === 0)
        throw new PlatformError("forbidden", { detail: "The overview is for operators (a platform permission)." });
      const [readsUsers, readsAudit] = await Promise.all([
        resolver.can(actorId, "users:read"),
        resolver.can(actorId, "audit:read"),
      ]);
      const today = Math.floor(clock.now().getTime() / DAY_MS) * DAY_MS;
      const since = new Date(today - (days - 1) * DAY_MS);
      // One after another: the embedded database has one connection, and each is a single query.
      const users = readsUsers
        ? { byStatus: await options.users.countByStatus(db), liveSessions: await options.sessions.countLive(db) }
        : null;
      let activity: DailyActivity[] | null = null;
      let openSecurityEvents: number | null = null;
      if (readsAudit) {
        const byDay = new Map<string, DailyActivity>();
        for (let index = 0; index < days; index++) {
          const day = new Date(since.getTime() + index * DAY_MS).toISOString().slice(0, 10);
          byDay.set(day, { day, signUps: 0, signIns: 0, failedSignIns: 0 });
        }
        for (const row of await options.auditTrail.dailyCounts(actorId, Object.keys(ACTIVITY), since)) {
          const entry = byDay.get(row.day);
          if (entry !== undefined) entry[ACTIVITY[row.action as keyof typeof ACTIVITY]] += row.count;
        }
        activity = [...byDay.values()];
        openSecurityEvents = await options.securityEvents.countOpen(actorId);
      }
      return {
        users,
        activity,
        openSecurityEvents,
        queue: { jobs: await jobCounts(db), emails: await options.outbox.countByStatus(db) },
      };
    },
  };
}
