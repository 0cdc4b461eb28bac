import { sql } from "drizzle-orm";
import { timestamptz } from "@burrow/platform-core/schema";
import { organizations } from "@burrow/platform-rbac/schema";
import { boolean, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";

/**
 * Where events are sent. Platform-wide (`org_id` null: every event) or one organization's (its
 * events only). The signing secret is encrypted with the key ring; after a rotation the previous one
 * keeps signing alongside until `previous_secret_expires_at`.
 */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    url: text("url").notNull(),
    description: text("description").notNull().default(""),
    /** Event types it receives; `["*"]` for all. */
    eventTypes: jsonb("event_types").$type<string[]>().notNull(),
    orgId: text("org_id").references(() => organizations.id, { onDelete: "cascade" }),
    secretEncrypted: text("secret_encrypted").notNull(),
    previousSecretEncrypted: text("previous_secret_encrypted"),
    previousSecretExpiresAt: timestamptz("previous_secret_expires_at"),
    enabled: boolean("enabled").notNull().default(true),
    /** Why it was disabled: `failing` (too many failures in a row) or `operator`. */
    disabledReason: text("disabled_reason"),
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    createdAt: timestamptz("created_at").notNull(),
    updatedAt: timestamptz("updated_at").notNull(),
  },
  (table) => [index("webhook_endpoints_org_idx").on(table.orgId)],
);

/**
 * One event for one endpoint: the body is stored as sent (signatures cover its exact bytes), and its
 * id is the `webhook-id` every attempt and redelivery carries, so receivers can deduplicate.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    /** The audit entry the event came from. */
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    payload: text("payload").notNull(),
    status: text("status", { enum: ["pending", "succeeded", "failed"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamptz("next_attempt_at"),
    lastAttemptAt: timestamptz("last_attempt_at"),
    responseStatus: integer("response_status"),
    responseTimeMs: integer("response_time_ms"),
    lastError: text("last_error"),
    createdAt: timestamptz("created_at").notNull(),
    deliveredAt: timestamptz("delivered_at"),
  },
  (table) => [
    index("webhook_deliveries_endpoint_idx").on(table.endpointId, table.createdAt),
    index("webhook_deliveries_pending_idx").on(table.status).where(sql`status = 'pending'`),
  ],
);

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
