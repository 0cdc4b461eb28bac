import type { AuditAction } from "./audit-actions.ts";
import type { Clock } from "./clock.ts";
import { hmacSha256 } from "./crypto.ts";
import { getTableColumns, type SQL } from "drizzle-orm";
import { compiled, insertFor, named, placeholders, together, type Database } from "./database/index.ts";
import { newId } from "./ids.ts";
import { auditLogs } from "./schema.ts";
import { raiseSecurityEvent, raisesSecurityEvent } from "./security-events.ts";
import { NO_METRICS, type Metrics } from "./metrics.ts";

/**
 * What an audit entry counts for (counted when written, so a rolled-back attempt is counted too):
 * every entry by action and outcome, and sign-ins by their first method.
 */
function countAudited(metrics: Metrics, event: AuditEvent): void {
  const outcome = event.outcome ?? "success";
  metrics.count("audit_events_total", { action: event.action, outcome });
  if (event.action !== "user.signed_in" && event.action !== "user.sign_in_failed") return;
  const methods = event.metadata?.methods;
  const method = Array.isArray(methods) ? methods[0] : event.metadata?.method;
  metrics.count("sign_ins_total", { method: typeof method === "string" ? method : "unknown", outcome });
}

/** Where a request came from, as the edge saw it. Passed from the HTTP layer into services. */
export interface RequestContext {
  ip?: string | undefined;
  userAgent?: string | undefined;
  requestId?: string | undefined;
  /**
   * The operator acting as the user, when the request comes from an impersonation session: every
   * entry the request writes names them (`metadata.impersonatedBy`).
   */
  impersonatorId?: string | undefined;
  /**
   * Aborts when the caller hangs up before the answer. Work queued behind others (a password hash)
   * is dropped for a caller that is gone, rather than done for nobody.
   */
  signal?: AbortSignal | undefined;
}

export type AuditActor =
  | { type: "user"; id: string }
  | { type: "api_key"; id: string }
  | { type: "system" }
  | { type: "anonymous" };

export interface AuditEvent {
  action: AuditAction;
  actor: AuditActor;
  target?: { type: string; id: string };
  orgId?: string;
  outcome?: "success" | "failure" | "denied";
  metadata?: Record<string, unknown>;
}

export type AuditEntry = typeof auditLogs.$inferSelect;

// Keys that could carry a secret are dropped from metadata whatever the caller passes.
const SECRET_KEY = /pass(word)?|secret|token|otp|code|api.?key|credential|hash|cookie|authorization/i;

function scrub(value: unknown, depth = 0): unknown {
  if (depth > 4) return "[truncated]";
  if (Array.isArray(value)) return value.slice(0, 50).map((item) => scrub(item, depth + 1));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value))
      out[key] = SECRET_KEY.test(key) ? "[redacted]" : scrub(item, depth + 1);
    return out;
  }
  if (typeof value === "string" && value.length > 500) return `${value.slice(0, 500)}…`;
  return value;
}

/**
 * Runs in the transaction of every entry written, its statements sent together with the entry's
 * insert (webhooks queue their deliveries here, so an event commits exactly with its change): it is
 * given the entry's id, and must not read the entry's row back. Wired at composition time.
 */
export type AuditObserver = ((
  db: Database,
  event: AuditEvent,
  entry: { id: string; occurredAt: Date },
) => Promise<void>) & {
  /** The actions it may act on; every action when absent. */
  actions?: ReadonlySet<string>;
};

export interface AuditLog {
  /** Writes one entry. Pass the caller's transaction so the entry commits with the change. */
  record(db: Database, event: AuditEvent, request?: RequestContext): Promise<void>;
  /** A user acting on their own account: `record` with the user as both actor and target. */
  recordByUser(
    db: Database,
    userId: string,
    action: AuditAction,
    request: RequestContext,
    details?: Pick<AuditEvent, "outcome" | "metadata">,
  ): Promise<void>;
  /** The IP as stored: an HMAC under the server secret unless raw IPs are configured. */
  ipForStorage(ip: string | undefined): string | null;
  /**
   * `record` as part of a larger statement, for a change made in one statement without a
   * transaction: the values for `auditInsert`'s placeholders. Undefined when writing the row is not
   * all that recording takes (a security event, an observer acting on the action): then `record` it
   * in a transaction. Counted as `record` counts.
   */
  recording(event: AuditEvent, request: RequestContext): Record<string, unknown> | undefined;
}

const AUDIT_PREFIX = "audit.";
/** An entry's fields, in the table's order. */
export const AUDIT_ENTRY_KEYS = Object.keys(getTableColumns(auditLogs)) as (keyof AuditEntry & string)[];

/**
 * The insert of an audit entry once for each row of `source` (a CTE's name), in a statement built
 * once (`compiled`): its values are placeholders, filled by `AuditLog.recording`.
 */
export const auditInsert = (source: SQL): SQL => insertFor(auditLogs, AUDIT_ENTRY_KEYS, AUDIT_PREFIX, source);

/** A user acting on their own account: the user as both actor and target. */
export function userEvent(
  userId: string,
  action: AuditAction,
  details: Pick<AuditEvent, "outcome" | "metadata"> = {},
): AuditEvent {
  return { action, actor: { type: "user", id: userId }, target: { type: "user", id: userId }, ...details };
}

/**
 * The audit writer. IPs are stored as HMAC-SHA-256 under the server secret by default: equal IPs
 * stay linkable for investigations without the log holding personal data in the clear.
 */
export function createAuditLog(options: {
  clock: Clock;
  secret: string;
  storeRawIp: boolean;
  metrics?: Metrics;
  observers?: AuditObserver[];
}): AuditLog {
  const observers = options.observers ?? [];
  const metrics = options.metrics ?? NO_METRICS;
  const ipForStorage = (ip: string | undefined): string | null => {
    if (ip === undefined || ip === "") return null;
    return options.storeRawIp ? ip : hmacSha256(options.secret, `ip:${ip}`).slice(0, 32);
  };
  const row = (event: AuditEvent, request: RequestContext) => {
    const occurredAt = options.clock.now();
    const metadata = (scrub(event.metadata ?? {}) as Record<string, unknown>) ?? {};
    if (request.impersonatorId !== undefined) metadata.impersonatedBy = request.impersonatorId;
    return {
      id: newId("audit", occurredAt.getTime()),
      occurredAt,
      actorType: event.actor.type,
      actorId: "id" in event.actor ? event.actor.id : null,
      action: event.action,
      targetType: event.target?.type ?? null,
      targetId: event.target?.id ?? null,
      orgId: event.orgId ?? null,
      outcome: event.outcome ?? "success",
      ip: ipForStorage(request.ip),
      userAgent: request.userAgent?.slice(0, 512) ?? null,
      requestId: request.requestId ?? null,
      metadata,
    } satisfies Record<(typeof AUDIT_ENTRY_KEYS)[number], unknown>;
  };
  const entering = compiled((db) => db.insert(auditLogs).values(placeholders(AUDIT_ENTRY_KEYS)));
  const log: AuditLog = {
    ipForStorage,
    recordByUser(db, userId, action, request, details = {}) {
      return log.record(db, userEvent(userId, action, details), request);
    },

    async record(db, event, request = {}) {
      const entry = row(event, request);
      const { id, occurredAt, metadata } = entry;
      // The entry, its security event and what observers do with it (they are given the entry's id,
      // not its row) are sent together. Observers see what the log holds: metadata without anything
      // that could be a secret.
      await together([
        entering(db, entry),
        raiseSecurityEvent(db, event, { id, occurredAt }),
        ...observers.map((observe) => observe(db, { ...event, metadata }, { id, occurredAt })),
      ]);
      countAudited(metrics, event);
    },

    recording(event, request) {
      if (raisesSecurityEvent(event) || observers.some((observer) => observer.actions?.has(event.action) !== false))
        return undefined;
      countAudited(metrics, event);
      return named(AUDIT_PREFIX, row(event, request));
    },
  };
  return log;
}
