import { randomBytes } from "node:crypto";
import { signWebhook } from "./signature.ts";
import { and, desc, eq, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import {
  compiled,
  deleteInBatches,
  enqueueJob,
  newId,
  PlatformError,
  type AuditLog,
  type AuditObserver,
  type Clock,
  type Config,
  type Database,
  type JobDefinition,
  type KeyRing,
  type Metrics,
  type RequestContext,
  type Sweeper,
} from "@burrow/platform-core";
import { users } from "@burrow/platform-auth/schema";
import { organizations } from "@burrow/platform-rbac/schema";
import type { PermissionResolver } from "@burrow/platform-rbac";
import { keyset } from "../keyset.ts";
import { webhookDeliveries, webhookEndpoints, type WebhookDeliveryRow, type WebhookEndpointRow } from "../schema.ts";
import { WEBHOOK_ACTIONS, WEBHOOK_EVENT_TYPES, webhookEventFor, type WebhookEventType } from "./events.ts";
import { checkWebhookUrl, postWebhook, type Resolve } from "./outbound.ts";

export const WEBHOOK_DELIVER_JOB = "webhook.deliver";
/** Attempts per delivery: the first, then 7 retries over about a day (see `retryDelayMs`). */
export const WEBHOOK_MAX_ATTEMPTS = 8;
/** The old secret keeps signing beside the new one this long after a rotation. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;
/** How much of a receiver's answer is read and kept. */
const MAX_RESPONSE_BYTES = 4096;
const DELIVERY_RETENTION_MS = 30 * 86_400_000;

/**
 * Delay before attempt `attempt + 1` after `attempt` failures: 12 minutes doubling to at most 8 hours
 * (12 m, 24 m, 48 m, 1.6 h, 3.2 h, 6.4 h, 8 h: about 21 hours in all), each ±20 % at random so
 * endpoints that failed together do not retry together.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(8 * 3_600_000, 12 * 60_000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

const newSecret = () => `whsec_${randomBytes(32).toString("base64")}`;

/** An endpoint as the API shows it: never its secret. */
export interface PublicEndpoint {
  id: string;
  url: string;
  description: string;
  eventTypes: string[];
  orgId: string | null;
  enabled: boolean;
  disabledReason: string | null;
  consecutiveFailures: number;
  createdAt: Date;
  updatedAt: Date;
}

const toPublic = (row: WebhookEndpointRow): PublicEndpoint => ({
  id: row.id,
  url: row.url,
  description: row.description,
  eventTypes: row.eventTypes,
  orgId: row.orgId,
  enabled: row.enabled,
  disabledReason: row.disabledReason,
  consecutiveFailures: row.consecutiveFailures,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

export type PublicDelivery = Omit<WebhookDeliveryRow, "payload"> & { payload: unknown };
const toPublicDelivery = (row: WebhookDeliveryRow): PublicDelivery => ({ ...row, payload: JSON.parse(row.payload) });

export interface EndpointInput {
  url: string;
  eventTypes: string[];
  description?: string;
  orgId?: string | null;
}

export interface Webhooks {
  list(actorId: string): Promise<PublicEndpoint[]>;
  get(actorId: string, endpointId: string): Promise<PublicEndpoint>;
  /** Creates an endpoint; its signing secret is returned this once. */
  create(
    actorId: string,
    input: EndpointInput,
    request: RequestContext,
  ): Promise<{ endpoint: PublicEndpoint; secret: string }>;
  /** Changes URL, events, description or `enabled` (enabling again clears the failure count). */
  update(
    actorId: string,
    endpointId: string,
    input: Partial<Omit<EndpointInput, "orgId">> & { enabled?: boolean },
    request: RequestContext,
  ): Promise<PublicEndpoint>;
  remove(actorId: string, endpointId: string, request: RequestContext): Promise<void>;
  /** A new secret; the old one keeps signing beside it for 24 hours. */
  rotateSecret(actorId: string, endpointId: string, request: RequestContext): Promise<{ secret: string }>;
  deliveries(
    actorId: string,
    endpointId: string,
    page?: { cursor?: string; limit?: number; status?: WebhookDeliveryRow["status"] },
  ): Promise<{ data: PublicDelivery[]; nextCursor: string | null }>;
  /** Sends a delivery again now, as the same message (same `webhook-id`), whatever its state. */
  redeliver(actorId: string, deliveryId: string, request: RequestContext): Promise<PublicDelivery>;
  /** How many enabled endpoints are failing (for `burrow status` and the admin overview). */
  failingEndpoints(): Promise<number>;
  /** The audit observer that queues each event for the endpoints that want it, in the change's transaction. */
  observe: AuditObserver;
  jobs: Record<string, JobDefinition>;
  sweeper: Sweeper;
}

export const WEBHOOKS_READ = "webhooks:read";
export const WEBHOOKS_MANAGE = "webhooks:manage";

export function createWebhooks(options: {
  db: Database;
  config: Pick<Config, "webhooks" | "env" | "secret">;
  clock: Clock;
  keyRing: KeyRing;
  /** Late-bound: the audit log is built with this service's observer. */
  audit: () => Pick<AuditLog, "record">;
  resolver: () => Pick<PermissionResolver, "can">;
  metrics: Metrics;
  /** DNS for outbound requests; tests play DNS with it. */
  resolve?: Resolve;
}): Webhooks {
  const { db, clock, keyRing, config } = options;
  const settings = config.webhooks;
  const urlOptions = { allowLoopback: settings.allowLoopback, production: config.env === "production" };
  const pages = keyset({
    time: webhookDeliveries.createdAt,
    id: webhookDeliveries.id,
    idKind: "webhookDelivery",
    secret: config.secret,
    purpose: "webhook-deliveries",
  });
  const encrypt = (endpointId: string, secret: string) => keyRing.encrypt(secret, `webhook:${endpointId}`);
  const decrypt = (endpointId: string, sealed: string) => keyRing.decrypt(sealed, `webhook:${endpointId}`);

  async function require(actorId: string, permission: string): Promise<void> {
    if (!(await options.resolver().can(actorId, permission)))
      throw new PlatformError("forbidden", { detail: `This needs the ${permission} permission.` });
  }

  function checkEventTypes(types: string[]): string[] {
    const unknown = types.filter((type) => type !== "*" && !WEBHOOK_EVENT_TYPES.includes(type as WebhookEventType));
    if (types.length === 0 || unknown.length > 0)
      throw new PlatformError("validation_failed", {
        detail:
          types.length === 0
            ? "Name at least one event type, or * for all."
            : `Unknown event types: ${unknown.join(", ")}.`,
        errors: [{ path: "eventTypes", message: "unknown or missing event types" }],
      });
    return [...new Set(types)];
  }

  const noEndpoint = () => new PlatformError("not_found", { detail: "No webhook endpoint has this id." });

  async function endpointRow(tx: Database, endpointId: string): Promise<WebhookEndpointRow> {
    const [row] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId));
    if (row === undefined) throw noEndpoint();
    return row;
  }

  /**
   * The endpoint's row, locked until the transaction ends: a change or rotation racing a removal
   * waits for it and then answers 404, and concurrent rotations each keep the secret they replaced.
   */
  async function lockedEndpointRow(tx: Database, endpointId: string): Promise<WebhookEndpointRow> {
    const [row] = await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId)).for("update");
    if (row === undefined) throw noEndpoint();
    return row;
  }

  const auditAs = (
    tx: Database,
    actorId: string,
    action: Parameters<AuditLog["record"]>[1]["action"],
    endpoint: { id: string; orgId: string | null },
    request: RequestContext,
    metadata: Record<string, unknown> = {},
  ) =>
    options.audit().record(
      tx,
      {
        action,
        actor: { type: "user", id: actorId },
        target: { type: "webhook_endpoint", id: endpoint.id },
        ...(endpoint.orgId ? { orgId: endpoint.orgId } : {}),
        metadata,
      },
      request,
    );

  /** What a payload says about the object an event is about: the current row for users and organizations. */
  async function objectOf(tx: Database, type: WebhookEventType, target: { type: string; id: string } | undefined) {
    if (target === undefined) return null;
    if (target.type === "user" && type !== "user.deleted") {
      const [user] = await tx
        .select({
          id: users.id,
          email: users.email,
          name: users.name,
          status: users.status,
          emailVerifiedAt: users.emailVerifiedAt,
          createdAt: users.createdAt,
          updatedAt: users.updatedAt,
        })
        .from(users)
        .where(eq(users.id, target.id));
      if (user !== undefined) return { type: "user", ...user };
    }
    if (target.type === "organization" && type !== "organization.deleted") {
      const [org] = await tx
        .select({ id: organizations.id, name: organizations.name, slug: organizations.slug })
        .from(organizations)
        .where(eq(organizations.id, target.id));
      if (org !== undefined) return { type: "organization", ...org };
    }
    return { type: target.type, id: target.id };
  }

  // The endpoints an event goes to: enabled, the platform's or the event's organization's (none when
  // `orgId` is null), subscribed to its type or to all. Asked of every audited action, so built once.
  // Read `for key share` (the lock each delivery's foreign key takes anyway): an endpoint being
  // deleted at that moment is waited for and then left out, instead of failing the audited change
  // (a sign-in, a profile update) on the delivery's foreign key. Disabling one does not wait.
  const subscribers = compiled((db) =>
    db
      .select({ id: webhookEndpoints.id })
      .from(webhookEndpoints)
      .where(
        and(
          eq(webhookEndpoints.enabled, true),
          or(isNull(webhookEndpoints.orgId), eq(webhookEndpoints.orgId, sql.placeholder("orgId"))),
          sql`(${webhookEndpoints.eventTypes} @> ${sql.placeholder("types")}::jsonb or ${webhookEndpoints.eventTypes} @> '["*"]'::jsonb)`,
        ),
      )
      .for("key share"),
  );

  const observe: AuditObserver = async (tx, event, entry) => {
    const type = webhookEventFor(event);
    if (type === undefined) return;
    const orgId = event.orgId ?? (event.target?.type === "organization" ? event.target.id : undefined);
    const targets = await subscribers(tx, { orgId: orgId ?? null, types: JSON.stringify([type]) });
    if (targets.length === 0) return;
    const payload = JSON.stringify({
      type,
      timestamp: entry.occurredAt.toISOString(),
      data: {
        eventId: entry.id,
        actor: event.actor,
        object: await objectOf(tx, type, event.target),
        organizationId: orgId ?? null,
        details: event.metadata ?? {},
      },
    });
    for (const endpoint of targets) {
      const id = newId("webhookDelivery", entry.occurredAt.getTime());
      await tx.insert(webhookDeliveries).values({
        id,
        endpointId: endpoint.id,
        eventId: entry.id,
        eventType: type,
        payload,
        status: "pending",
        nextAttemptAt: entry.occurredAt,
        createdAt: entry.occurredAt,
      });
      await enqueueJob(tx, clock, WEBHOOK_DELIVER_JOB, { deliveryId: id }, { maxAttempts: 3 });
    }
  };
  observe.actions = WEBHOOK_ACTIONS;

  /** The signatures a message carries: the current secret's, and the previous one's while it overlaps. */
  function signatures(endpoint: WebhookEndpointRow, id: string, timestamp: number, body: string): string {
    const secrets = [decrypt(endpoint.id, endpoint.secretEncrypted)];
    if (
      endpoint.previousSecretEncrypted !== null &&
      endpoint.previousSecretExpiresAt !== null &&
      endpoint.previousSecretExpiresAt > clock.now()
    )
      secrets.push(decrypt(endpoint.id, endpoint.previousSecretEncrypted));
    return secrets.map((secret) => signWebhook(secret, id, timestamp, body)).join(" ");
  }

  /** One attempt of one delivery; a failure schedules the next attempt (or gives up) and counts against the endpoint. */
  async function attempt(deliveryId: string): Promise<void> {
    const [found] = await db
      .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .where(eq(webhookDeliveries.id, deliveryId));
    if (found === undefined || found.delivery.status !== "pending") return;
    const { delivery, endpoint } = found;
    const now = clock.now();
    if (!endpoint.enabled) {
      await db
        .update(webhookDeliveries)
        .set({ status: "failed", nextAttemptAt: null, lastError: "the endpoint is disabled" })
        .where(eq(webhookDeliveries.id, delivery.id));
      return;
    }
    const timestamp = Math.floor(now.getTime() / 1000);
    let status: number | null = null;
    let timeMs: number | null = null;
    let error: string | null = null;
    try {
      const result = await postWebhook(
        new URL(endpoint.url),
        {
          "content-type": "application/json",
          "user-agent": "Burrow-Webhooks/1",
          "webhook-id": delivery.id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": signatures(endpoint, delivery.id, timestamp, delivery.payload),
        },
        delivery.payload,
        {
          allowLoopback: settings.allowLoopback,
          timeoutMs: settings.timeoutMs,
          maxBodyBytes: MAX_RESPONSE_BYTES,
          ...(options.resolve ? { resolve: options.resolve } : {}),
        },
      );
      status = result.status;
      timeMs = result.timeMs;
      if (status < 200 || status > 299)
        error = `answered ${status}${status >= 300 && status < 400 ? " (redirects are not followed)" : ""}`;
    } catch (failure) {
      error = failure instanceof Error ? failure.message.slice(0, 500) : String(failure);
    }
    const attempts = delivery.attempts + 1;
    const done = clock.now();
    const succeeded = error === null;
    const givesUp = !succeeded && attempts >= WEBHOOK_MAX_ATTEMPTS;
    options.metrics.count("webhook_deliveries_total", {
      outcome: succeeded ? "succeeded" : givesUp ? "failed" : "retried",
    });
    await db.transaction(async (tx) => {
      // The endpoint's row first, then its deliveries: the order its deletion takes them (the row, then
      // its deliveries by cascade) and every other attempt at it, so that attempts at one endpoint (one
      // may fail all the others' pending deliveries) and its deletion queue instead of deadlocking.
      const [live] = await tx
        .select({ id: webhookEndpoints.id })
        .from(webhookEndpoints)
        .where(eq(webhookEndpoints.id, endpoint.id))
        .for("no key update");
      // Deleted meanwhile: its deliveries went with it.
      if (live === undefined) return;
      const nextAt = succeeded || givesUp ? null : new Date(done.getTime() + retryDelayMs(attempts));
      await tx
        .update(webhookDeliveries)
        .set({
          status: succeeded ? "succeeded" : givesUp ? "failed" : "pending",
          attempts,
          lastAttemptAt: now,
          nextAttemptAt: nextAt,
          responseStatus: status,
          responseTimeMs: timeMs,
          lastError: error,
          deliveredAt: succeeded ? done : null,
        })
        .where(and(eq(webhookDeliveries.id, delivery.id), eq(webhookDeliveries.status, "pending")));
      if (nextAt !== null)
        await enqueueJob(
          tx,
          clock,
          WEBHOOK_DELIVER_JOB,
          { deliveryId: delivery.id },
          { runAt: nextAt, maxAttempts: 3 },
        );
      if (succeeded) {
        await tx
          .update(webhookEndpoints)
          .set({ consecutiveFailures: 0 })
          .where(and(eq(webhookEndpoints.id, endpoint.id), sql`${webhookEndpoints.consecutiveFailures} > 0`));
        return;
      }
      const [counted] = await tx
        .update(webhookEndpoints)
        .set({ consecutiveFailures: sql`${webhookEndpoints.consecutiveFailures} + 1` })
        .where(eq(webhookEndpoints.id, endpoint.id))
        .returning({ failures: webhookEndpoints.consecutiveFailures, enabled: webhookEndpoints.enabled });
      if (counted !== undefined && counted.enabled && counted.failures >= settings.disableAfterFailures) {
        await tx
          .update(webhookEndpoints)
          .set({ enabled: false, disabledReason: "failing", updatedAt: done })
          .where(eq(webhookEndpoints.id, endpoint.id));
        // What was still waiting is given up with it; an operator can redeliver after enabling it again.
        await tx
          .update(webhookDeliveries)
          .set({ status: "failed", nextAttemptAt: null })
          .where(and(eq(webhookDeliveries.endpointId, endpoint.id), eq(webhookDeliveries.status, "pending")));
        await options.audit().record(tx, {
          action: "webhook.endpoint_disabled",
          actor: { type: "system" },
          target: { type: "webhook_endpoint", id: endpoint.id },
          ...(endpoint.orgId ? { orgId: endpoint.orgId } : {}),
          metadata: { failures: counted.failures, url: endpoint.url, lastError: error },
        });
      }
    });
  }

  return {
    observe,

    async list(actorId) {
      await require(actorId, WEBHOOKS_READ);
      const rows = await db.select().from(webhookEndpoints).orderBy(desc(webhookEndpoints.createdAt));
      return rows.map(toPublic);
    },

    async get(actorId, endpointId) {
      await require(actorId, WEBHOOKS_READ);
      return toPublic(await endpointRow(db, endpointId));
    },

    async create(actorId, input, request) {
      await require(actorId, WEBHOOKS_MANAGE);
      const url = checkWebhookUrl(input.url, urlOptions).toString();
      const eventTypes = checkEventTypes(input.eventTypes);
      return db.transaction(async (tx) => {
        if (input.orgId != null) {
          const [org] = await tx
            .select({ id: organizations.id })
            .from(organizations)
            .where(eq(organizations.id, input.orgId));
          if (org === undefined) throw new PlatformError("not_found", { detail: "No organization has this id." });
        }
        const now = clock.now();
        const id = newId("webhook", now.getTime());
        const secret = newSecret();
        const [row] = await tx
          .insert(webhookEndpoints)
          .values({
            id,
            url,
            description: input.description ?? "",
            eventTypes,
            orgId: input.orgId ?? null,
            secretEncrypted: encrypt(id, secret),
            createdAt: now,
            updatedAt: now,
          })
          .returning();
        await auditAs(tx, actorId, "webhook.endpoint_created", row!, request, { url, eventTypes });
        return { endpoint: toPublic(row!), secret };
      });
    },

    async update(actorId, endpointId, input, request) {
      await require(actorId, WEBHOOKS_MANAGE);
      const url = input.url === undefined ? undefined : checkWebhookUrl(input.url, urlOptions).toString();
      const eventTypes = input.eventTypes === undefined ? undefined : checkEventTypes(input.eventTypes);
      return db.transaction(async (tx) => {
        const before = await lockedEndpointRow(tx, endpointId);
        const enabling = input.enabled === true && !before.enabled;
        const [row] = await tx
          .update(webhookEndpoints)
          .set({
            ...(url === undefined ? {} : { url }),
            ...(eventTypes === undefined ? {} : { eventTypes }),
            ...(input.description === undefined ? {} : { description: input.description }),
            ...(input.enabled === undefined
              ? {}
              : { enabled: input.enabled, disabledReason: input.enabled ? null : "operator" }),
            ...(enabling ? { consecutiveFailures: 0 } : {}),
            updatedAt: clock.now(),
          })
          .where(eq(webhookEndpoints.id, endpointId))
          .returning();
        await auditAs(tx, actorId, "webhook.endpoint_updated", row!, request, {
          changed: Object.keys(input).filter((key) => (input as Record<string, unknown>)[key] !== undefined),
        });
        return toPublic(row!);
      });
    },

    async remove(actorId, endpointId, request) {
      await require(actorId, WEBHOOKS_MANAGE);
      await db.transaction(async (tx) => {
        // Deleted and read back in one statement: of concurrent removals one gets the row (and is
        // audited); the others find nothing to delete and answer 404.
        const [row] = await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId)).returning();
        if (row === undefined) throw noEndpoint();
        await auditAs(tx, actorId, "webhook.endpoint_deleted", row, request, { url: row.url });
      });
    },

    async rotateSecret(actorId, endpointId, request) {
      await require(actorId, WEBHOOKS_MANAGE);
      return db.transaction(async (tx) => {
        const row = await lockedEndpointRow(tx, endpointId);
        const secret = newSecret();
        const now = clock.now();
        await tx
          .update(webhookEndpoints)
          .set({
            secretEncrypted: encrypt(row.id, secret),
            previousSecretEncrypted: row.secretEncrypted,
            previousSecretExpiresAt: new Date(now.getTime() + SECRET_OVERLAP_MS),
            updatedAt: now,
          })
          .where(eq(webhookEndpoints.id, endpointId));
        await auditAs(tx, actorId, "webhook.secret_rotated", row, request);
        return { secret };
      });
    },

    async deliveries(actorId, endpointId, page = {}) {
      await require(actorId, WEBHOOKS_READ);
      await endpointRow(db, endpointId);
      const where: SQL[] = [eq(webhookDeliveries.endpointId, endpointId)];
      if (page.status !== undefined) where.push(eq(webhookDeliveries.status, page.status));
      const { data, nextCursor } = await pages.page(
        where,
        page,
        (condition, take) =>
          db
            .select()
            .from(webhookDeliveries)
            .where(condition)
            .orderBy(...pages.newestFirst)
            .limit(take),
        (row) => ({ at: row.createdAt, id: row.id }),
      );
      return { data: data.map(toPublicDelivery), nextCursor };
    },

    async redeliver(actorId, deliveryId, request) {
      await require(actorId, WEBHOOKS_MANAGE);
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(webhookDeliveries)
          .set({ status: "pending", attempts: 0, nextAttemptAt: clock.now(), lastError: null })
          .where(eq(webhookDeliveries.id, deliveryId))
          .returning();
        if (row === undefined) throw new PlatformError("not_found", { detail: "No webhook delivery has this id." });
        const endpoint = await endpointRow(tx, row.endpointId);
        if (!endpoint.enabled)
          throw new PlatformError("conflict", { detail: "The endpoint is disabled: enable it first." });
        await enqueueJob(tx, clock, WEBHOOK_DELIVER_JOB, { deliveryId }, { maxAttempts: 3 });
        await auditAs(tx, actorId, "webhook.redelivered", endpoint, request, { deliveryId });
        return toPublicDelivery(row);
      });
    },

    async failingEndpoints() {
      const [row] = await db
        .select({ count: sql<number>`count(*)::int` })
        .from(webhookEndpoints)
        .where(or(eq(webhookEndpoints.disabledReason, "failing"), sql`${webhookEndpoints.consecutiveFailures} > 0`));
      return row?.count ?? 0;
    },

    jobs: {
      [WEBHOOK_DELIVER_JOB]: {
        run: (payload) => attempt((payload as { deliveryId: string }).deliveryId),
        backoff: { baseMs: 60_000, maxMs: 600_000 },
      },
    },

    sweeper: {
      name: "ops.webhook_deliveries",
      sweep: (tx, now) =>
        deleteInBatches(
          tx,
          webhookDeliveries,
          webhookDeliveries.id,
          and(
            lt(webhookDeliveries.createdAt, new Date(now.getTime() - DELIVERY_RETENTION_MS)),
            or(eq(webhookDeliveries.status, "succeeded"), eq(webhookDeliveries.status, "failed")),
          )!,
        ),
    },
  };
}
