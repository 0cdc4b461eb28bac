import { PlatformError, type Database } from "@burrow/platform-core";
import { DEFAULT_USER_SCOPES, type AccessPolicy } from "@burrow/platform-auth";
import type { Elevations } from "../elevations/elevations.ts";
import type { Organizations } from "../organizations/organizations.ts";
import { covers } from "./permissions.ts";
import type { PermissionResolver } from "./resolver.ts";

/**
 * What roles decide for accounts, handed to `createAuth({ access })`: rbac builds on auth, so auth
 * cannot import these rules; it asks through the port instead.
 */
export function createAccessPolicy(options: {
  resolver: PermissionResolver;
  elevations: Pick<Elevations, "endAllFor">;
  organizations: Pick<Organizations, "endMembershipsOf">;
}): AccessPolicy {
  const { resolver, elevations, organizations } = options;
  return {
    // Every holder of `*` needs a second factor, whatever BURROW_MFA_REQUIRED says for everyone else.
    mfaRequiredFor: (tx: Database, userId) => resolver.can(userId, "*", { db: tx }),
    // Access tokens carry the roles and permissions for the organization they are minted for.
    async claims(userId, { orgId }) {
      const resolved = await resolver.resolve(userId, orgId);
      const permissions = [...resolved.patterns].sort();
      if (orgId === null) return permissions.length === 0 ? {} : { permissions };
      // Not a member (or no such organization) and no platform permission to read it: one answer for both.
      if (resolved.orgRole === null && !covers(resolved.patterns, "org:read"))
        throw new PlatformError("forbidden", { detail: "You cannot act for that organization." });
      return { org_id: orgId, org_role: resolved.orgRole, permissions };
    },
    // A key never carries more than its creator holds: their own profile, plus their platform permissions.
    grantableScopes: async (userId) => [...DEFAULT_USER_SCOPES, ...(await resolver.resolve(userId)).patterns],
    // In the transaction that suspends or deletes a user: no eligibility or elevation outlives the account.
    onUserDeactivated: (tx, userId) => elevations.endAllFor(tx, userId),
    // An organization keeps a live owner: its only owner's account is not deleted (they hand it on
    // first); anyone else's memberships end with their account.
    beforeUserDeleted: (tx, userId, deletion) => organizations.endMembershipsOf(tx, userId, deletion),
    // The admin console is for anyone holding a platform permission; each page checks its own.
    mayOperate: async (tx, userId) => (await resolver.resolve(userId, null, tx)).patterns.size > 0,
  };
}
