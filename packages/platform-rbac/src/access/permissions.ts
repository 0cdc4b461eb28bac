/**
 * Permissions are `resource:action` strings. A held permission may be a pattern: `resource:*` covers
 * every action on the resource, and `*` covers everything.
 */
export const PERMISSION = /^(\*|[a-z][a-z0-9_-]*:(\*|[a-z][a-z0-9_-]*))$/;

/** The permissions Burrow itself checks. Builders add their own through `createRbac({ permissions })`. */
export const BUILT_IN_PERMISSIONS: Record<string, string> = {
  "org:read": "See the organization",
  "org:update": "Rename the organization, change its slug, logo and metadata",
  "org:delete": "Delete the organization",
  "org:transfer": "Transfer ownership",
  "members:read": "List members",
  "members:invite": "Invite members",
  "members:update": "Change members' roles",
  "members:remove": "Remove members",
  "roles:read": "See roles",
  "roles:manage": "Create and change custom roles",
  "users:read": "Read any user (platform)",
  "users:manage": "Suspend, delete and unlock users (platform)",
  "users:impersonate": "Act as a user for 30 minutes to see what they see; never as an operator (platform)",
  "audit:read": "Read the audit log and security events (platform)",
  "security_events:resolve": "Resolve security events (platform)",
  "webhooks:read": "See webhook endpoints and their deliveries (platform)",
  "webhooks:manage": "Add, change and remove webhook endpoints, rotate their secrets, redeliver (platform)",
  "signing_keys:rotate": "Rotate the access-token signing key (platform)",
  "oauth_providers:manage":
    "Add, change, disable and test social sign-in providers; set their client secrets, never read them (platform)",
  "settings:read": "See the effective configuration, secrets redacted, and the signing keys (platform)",
  "entitlements:manage": "Add and remove entitlement overrides of organizations and users (platform)",
  "email:read": "See email templates and the outbox (platform)",
  "email:manage": "Edit email templates, send test mails, retry messages (platform)",
  "tokens:introspect": "Introspect access tokens with an API key (platform)",
};

export interface BuiltInRole {
  key: string;
  name: string;
  scope: "platform" | "organization";
  permissions: string[];
}

export const BUILT_IN_ROLES: BuiltInRole[] = [
  { key: "owner", name: "Owner", scope: "organization", permissions: ["*"] },
  {
    key: "admin",
    name: "Admin",
    scope: "organization",
    permissions: ["org:read", "org:update", "members:*", "roles:*"],
  },
  { key: "member", name: "Member", scope: "organization", permissions: ["org:read", "members:read", "roles:read"] },
  { key: "viewer", name: "Viewer", scope: "organization", permissions: ["org:read"] },
  { key: "platform_admin", name: "Platform administrator", scope: "platform", permissions: ["*"] },
  {
    key: "support",
    name: "Support",
    scope: "platform",
    permissions: ["users:read", "org:read", "members:read", "audit:read"],
  },
];

/** True when one of the held patterns covers `permission`. */
export function covers(held: Iterable<string>, permission: string): boolean {
  const resource = permission.slice(0, permission.indexOf(":"));
  for (const pattern of held) {
    if (pattern === "*" || pattern === permission || pattern === `${resource}:*`) return true;
  }
  return false;
}

/** True when every permission of `wanted` is covered by `held` (a wildcard only by an equal or wider one). */
export function coversAll(held: readonly string[], wanted: readonly string[]): boolean {
  return wanted.every((permission) => {
    if (permission === "*") return held.includes("*");
    if (permission.endsWith(":*")) return held.includes("*") || held.includes(permission);
    return covers(held, permission);
  });
}
