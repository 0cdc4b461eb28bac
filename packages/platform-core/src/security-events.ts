// Security events: the audit entries an operator should look at, declared once as rules over the
// audit catalogue. `audit.record` raises them in the same transaction as the entry.
import type { AuditAction } from "./audit-actions.ts";
import type { AuditEvent } from "./audit.ts";
import type { Database } from "./database/index.ts";
import { newId } from "./ids.ts";
import { securityEvents } from "./schema.ts";

export type SecuritySeverity = "low" | "medium" | "high";

export interface SecurityEventRule {
  kind: string;
  severity: SecuritySeverity;
  /** What the rule means, for docs and the admin app. */
  meaning: string;
  /** Raise only for some entries of the action (for example keys with platform scopes). */
  when?: (event: AuditEvent) => boolean;
}

/** Which audit actions raise which security event. */
export const SECURITY_EVENT_RULES: Partial<Record<AuditAction, SecurityEventRule>> = {
  "security.refresh_token_reuse": {
    kind: "refresh_token_reuse",
    severity: "high",
    meaning: "A rotated refresh token was shown again: it was copied. Its family and session were revoked.",
  },
  "security.credential_stuffing": {
    kind: "credential_stuffing",
    severity: "high",
    meaning:
      "More than 20 failed sign-ins from one client address within about 10 minutes, whichever accounts they named.",
  },
  "user.new_device_sign_in": {
    kind: "new_device_sign_in",
    severity: "low",
    meaning: "A user signed in from a browser or app their account had not used before (they were mailed).",
  },
  "user.sign_in_disowned": {
    kind: "sign_in_disowned",
    severity: "high",
    meaning: "A user said a sign-in was not theirs: every session was ended. Their password may be known to someone.",
  },
  "user.locked": {
    kind: "account_locked",
    severity: "medium",
    meaning: "Too many wrong passwords locked an address.",
  },
  "mfa.locked": {
    kind: "mfa_locked",
    severity: "medium",
    meaning: "Too many wrong second factors locked a user's MFA.",
  },
  "mfa.factor_removed": {
    kind: "mfa_removed",
    severity: "medium",
    meaning: "A user removed a second factor.",
  },
  "role.platform_granted": {
    kind: "platform_role_granted",
    severity: "high",
    meaning: "Someone was given a platform role.",
  },
  "elevation.approved": {
    kind: "elevation_approved",
    severity: "medium",
    meaning: "An elevation into a role was approved.",
  },
  "webhook.endpoint_disabled": {
    kind: "webhook_endpoint_disabled",
    severity: "medium",
    meaning: "A webhook endpoint failed too many deliveries in a row and was disabled; its events are not sent.",
  },
  "api_key.created": {
    kind: "platform_api_key_created",
    severity: "medium",
    meaning: "An API key was made with platform scopes (beyond its owner's own profile).",
    when: (event) => event.metadata?.platformScopes === true,
  },
};

/** The rule an audit entry matches, if any. */
function ruleFor(event: AuditEvent): SecurityEventRule | undefined {
  const rule = SECURITY_EVENT_RULES[event.action as AuditAction];
  return rule === undefined || (rule.when !== undefined && !rule.when(event)) ? undefined : rule;
}

/** Whether the entry for `event` raises a security event. */
export const raisesSecurityEvent = (event: AuditEvent): boolean => ruleFor(event) !== undefined;

/** Raises the security event an audit entry calls for, if any, in the entry's transaction. */
export async function raiseSecurityEvent(
  db: Database,
  event: AuditEvent,
  entry: { id: string; occurredAt: Date },
): Promise<void> {
  const rule = ruleFor(event);
  if (rule === undefined) return;
  const userId = event.target?.type === "user" ? event.target.id : "id" in event.actor ? event.actor.id : null;
  await db.insert(securityEvents).values({
    id: newId("securityEvent", entry.occurredAt.getTime()),
    kind: rule.kind,
    severity: rule.severity,
    userId,
    orgId: event.orgId ?? null,
    auditId: entry.id,
    createdAt: entry.occurredAt,
  });
}
