import type { AuditAction, AuditEvent } from "@burrow/platform-core";

/**
 * The events webhooks carry, each with what it means and the audit actions it is made from. The
 * audit writer already runs in the transaction of every change, so an event is queued exactly when
 * its change commits: no event without its change, no change without its event.
 */
export const WEBHOOK_EVENTS = {
  "user.created": {
    meaning: "An account was created: sign-up, an invitation accepted without one, or an operator.",
    from: ["user.signed_up", "user.created"],
  },
  "user.updated": {
    meaning: "An account's profile, addresses or phone changed, or an address was proven.",
    from: [
      "user.profile_updated",
      "user.email_verified",
      "user.email_changed",
      "user.email_added",
      "user.email_removed",
      "user.primary_email_changed",
      "user.phone_verified",
      "user.phone_removed",
      "user.account_set_up",
    ],
  },
  "user.deleted": { meaning: "An account was deleted.", from: ["user.deleted"] },
  "user.suspended": { meaning: "An operator suspended an account.", from: ["user.suspended"] },
  "user.unsuspended": { meaning: "An operator lifted a suspension.", from: ["user.unsuspended"] },
  "session.created": { meaning: "A sign-in completed and a session started.", from: ["user.signed_in"] },
  "session.revoked": {
    meaning: "Sessions ended: a sign-out, the user ending one or the others, or 'this wasn't me'.",
    from: ["user.signed_out", "session.revoked", "session.revoked_others", "user.sign_in_disowned"],
  },
  "organization.created": { meaning: "An organization was created.", from: ["organization.created"] },
  "organization.updated": {
    meaning: "An organization's name, slug or settings changed, or its ownership moved.",
    from: ["organization.updated", "organization.renamed", "organization.ownership_transferred"],
  },
  "organization.deleted": { meaning: "An organization was deleted.", from: ["organization.deleted"] },
  "membership.created": { meaning: "Someone joined an organization.", from: ["member.added"] },
  "membership.updated": { meaning: "A member's role changed.", from: ["member.role_changed"] },
  "membership.deleted": { meaning: "A member was removed or left.", from: ["member.removed", "member.left"] },
  "invitation.created": { meaning: "An invitation was sent.", from: ["invitation.sent"] },
  "invitation.accepted": { meaning: "An invitation was accepted.", from: ["invitation.accepted"] },
  "invitation.revoked": { meaning: "An invitation was withdrawn.", from: ["invitation.revoked"] },
  "mfa.factor.added": { meaning: "A second factor became active.", from: ["mfa.factor_added"] },
  "mfa.factor.removed": { meaning: "A second factor was removed.", from: ["mfa.factor_removed"] },
  "oauth.account.linked": {
    meaning: "A social-login provider account was linked to a user (first login, a trusted address, or by the user).",
    from: ["oauth.account_linked"],
  },
  "oauth.account.unlinked": { meaning: "A provider account was unlinked.", from: ["oauth.account_unlinked"] },
  "elevation.started": { meaning: "An elevation into a role began.", from: ["elevation.started"] },
  "elevation.ended": { meaning: "An elevation ended.", from: ["elevation.ended"] },
} as const satisfies Record<string, { meaning: string; from: readonly AuditAction[] }>;

export type WebhookEventType = keyof typeof WEBHOOK_EVENTS;
export const WEBHOOK_EVENT_TYPES = Object.keys(WEBHOOK_EVENTS) as WebhookEventType[];

const BY_ACTION = new Map<string, WebhookEventType>(
  WEBHOOK_EVENT_TYPES.flatMap((type) => WEBHOOK_EVENTS[type].from.map((action) => [action, type] as const)),
);

/** The audit actions some webhook event is made from. */
export const WEBHOOK_ACTIONS: ReadonlySet<string> = new Set(BY_ACTION.keys());

/** The webhook event an audit entry makes, if any: successful changes only. */
export function webhookEventFor(event: AuditEvent): WebhookEventType | undefined {
  if ((event.outcome ?? "success") !== "success") return undefined;
  return BY_ACTION.get(event.action);
}
