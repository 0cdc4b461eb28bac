import { sql } from "drizzle-orm";
import { timestamptz } from "./database/columns.ts";

export { timestamptz };
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  uniqueIndex,
} from "drizzle-orm/pg-core";

/** Who did what to whom, when and from where. Never holds a secret (see audit.ts). */
export const auditLogs = pgTable(
  "audit_logs",
  {
    id: text("id").primaryKey(),
    occurredAt: timestamptz("occurred_at").notNull(),
    actorType: text("actor_type", { enum: ["user", "api_key", "system", "anonymous"] }).notNull(),
    actorId: text("actor_id"),
    action: text("action").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    orgId: text("org_id"),
    outcome: text("outcome", { enum: ["success", "failure", "denied"] }).notNull(),
    /** HMAC of the client IP under the server secret, or the raw IP when so configured. */
    ip: text("ip"),
    userAgent: text("user_agent"),
    requestId: text("request_id"),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
  },
  (table) => [
    index("audit_logs_occurred_at_idx").on(table.occurredAt),
    index("audit_logs_actor_idx").on(table.actorId, table.occurredAt),
    index("audit_logs_target_idx").on(table.targetId, table.occurredAt),
    index("audit_logs_org_idx").on(table.orgId, table.occurredAt),
    index("audit_logs_action_idx").on(table.action, table.occurredAt),
  ],
);

/**
 * What deserves an operator's attention, raised from audit entries by the rules in
 * security-events.ts, in the same transaction; an operator resolves each with a note.
 */
export const securityEvents = pgTable(
  "security_events",
  {
    id: text("id").primaryKey(),
    kind: text("kind").notNull(),
    severity: text("severity", { enum: ["low", "medium", "high"] }).notNull(),
    userId: text("user_id"),
    orgId: text("org_id"),
    /** The audit entry that raised it: who, what, from where. */
    auditId: text("audit_id").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamptz("created_at").notNull(),
    resolvedAt: timestamptz("resolved_at"),
    resolvedBy: text("resolved_by"),
    resolutionNote: text("resolution_note"),
  },
  (table) => [
    index("security_events_created_idx").on(table.createdAt),
    index("security_events_open_idx").on(table.createdAt).where(sql`resolved_at is null`),
    index("security_events_user_idx").on(table.userId, table.createdAt),
  ],
);

/** The durable job queue. See jobs/queue.ts for the life cycle. */
export const jobs = pgTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    type: text("type").notNull(),
    payload: jsonb("payload").$type<unknown>().notNull(),
    status: text("status", { enum: ["queued", "running", "succeeded", "dead"] })
      .notNull()
      .default("queued"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    runAt: timestamptz("run_at").notNull(),
    lockedUntil: timestamptz("locked_until"),
    lockedBy: text("locked_by"),
    lastError: text("last_error"),
    createdAt: timestamptz("created_at").notNull(),
    updatedAt: timestamptz("updated_at").notNull(),
    finishedAt: timestamptz("finished_at"),
    /** A recurring job's key: at most one queued or running job holds it (one run per interval, cluster-wide). */
    key: text("key"),
  },
  (table) => [
    uniqueIndex("jobs_key_pending_key").on(table.key).where(sql`status in ('queued', 'running')`),
    // Claims scan only due work: queued jobs by run time, and running jobs by lease end.
    index("jobs_due_idx").on(table.runAt).where(sql`status = 'queued'`),
    index("jobs_lease_idx").on(table.lockedUntil).where(sql`status = 'running'`),
  ],
);

/** Token buckets shared by every node (see rate-limit.ts). */
export const rateLimitBuckets = pgTable("rate_limit_buckets", {
  key: text("key").primaryKey(),
  tokens: doublePrecision("tokens").notNull(),
  /** Milliseconds since the epoch of the last refill. */
  refilledAt: bigint("refilled_at", { mode: "number" }).notNull(),
  /** Whether the request that last touched the bucket was let through. */
  allowed: boolean("allowed").notNull().default(true),
});
