// Operations: what operators and integrators need to run Burrow and trust it (the audit trail first).
export {
  ACTIVITY_ACTIONS,
  AUDIT_CSV_COLUMNS,
  auditCsvLine,
  auditExportFormat,
  auditExportResponse,
  type AuditExportFormat,
  auditRecord,
  createAuditTrail,
  type AuditPage,
  type AuditQuery,
  type AuditRecord,
  type AuditTrail,
} from "./audit-trail/audit-trail.ts";
export { createHousekeeping, HOUSEKEEPING_JOB, type Housekeeping } from "./housekeeping/housekeeping.ts";
export { createOperatorTools, type OperatorTools, type SystemStatus } from "./operator/operator.ts";
export {
  createSecurityEvents,
  RESOLVE_PERMISSION,
  type SecurityEventFilter,
  type SecurityEventRow,
  type SecurityEvents,
} from "./security-events/security-events.ts";
export { createPrometheusMetrics, type PrometheusMetrics } from "./metrics/prometheus.ts";
export { signWebhook, verifyWebhook, WebhookVerificationError } from "./webhooks/signature.ts";
export {
  createWebhooks,
  retryDelayMs,
  SECRET_OVERLAP_MS,
  WEBHOOK_DELIVER_JOB,
  WEBHOOK_MAX_ATTEMPTS,
  WEBHOOKS_MANAGE,
  WEBHOOKS_READ,
  type EndpointInput,
  type PublicDelivery,
  type PublicEndpoint,
  type Webhooks,
} from "./webhooks/webhooks.ts";
export { WEBHOOK_EVENT_TYPES, WEBHOOK_EVENTS, webhookEventFor, type WebhookEventType } from "./webhooks/events.ts";
export { checkWebhookUrl, forbiddenAddress, postWebhook, type Resolve } from "./webhooks/outbound.ts";
export {
  createUserAdministration,
  USERS_IMPERSONATE,
  USERS_MANAGE,
  USERS_READ,
  type NewUser,
  type StepUp,
  type UserDetails,
  type UserAdministration,
} from "./user-admin/user-admin.ts";
export { createOverview, type DailyActivity, type Overview, type OverviewSummary } from "./overview/overview.ts";
export {
  createEmailAdministration,
  EMAIL_MANAGE,
  EMAIL_READ,
  type EmailAdministration,
  sampleValues,
  type TemplateDraft,
} from "./email-admin/email-admin.ts";
export { createSettingsView, SETTINGS_READ, type SettingsView } from "./settings/settings.ts";
export {
  createOAuthProviderAdministration,
  OAUTH_PROVIDERS_MANAGE,
  type OAuthProviderAdministration,
  type ProviderListing,
} from "./oauth-providers/oauth-providers.ts";
export {
  createEntitlementAdministration,
  ENTITLEMENTS_MANAGE,
  type EntitlementAdministration,
  type OverrideInput,
} from "./entitlement-admin/entitlement-admin.ts";
