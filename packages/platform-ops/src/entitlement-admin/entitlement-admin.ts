// Operators' view of an organization's plan, and the overrides they add or remove (support gives a
// customer a feature, or a higher limit, for a while). rbac's entitlements have no permission checks
// of their own (a builder's billing webhook calls them): the operators' rules are here.
import { PlatformError, type RequestContext } from "@burrow/platform-core";
import type { Entitlements, Organizations, PermissionResolver } from "@burrow/platform-rbac";

export const ENTITLEMENTS_MANAGE = "entitlements:manage";

export interface OverrideInput {
  feature: string;
  effect: "grant" | "deny" | "limit";
  limit?: number | null;
  reason: string;
  expiresAt?: Date | null;
}

export interface EntitlementAdministration {
  /** The organization's subscription, overrides and the features there are (anyone who may read it). */
  view(actorId: string, orgId: string): Promise<Awaited<ReturnType<Entitlements["describe"]>>>;
  /** entitlements:manage; audited with the operator as actor. */
  addOverride(actorId: string, orgId: string, input: OverrideInput, request: RequestContext): Promise<string>;
  removeOverride(actorId: string, orgId: string, overrideId: string, request: RequestContext): Promise<void>;
}

export function createEntitlementAdministration(options: {
  entitlements: Pick<Entitlements, "describe" | "addOverride" | "removeOverride">;
  organizations: Pick<Organizations, "get">;
  resolver: Pick<PermissionResolver, "can">;
}): EntitlementAdministration {
  const { entitlements, organizations, resolver } = options;
  const subject = (orgId: string) => ({ type: "organization", id: orgId }) as const;
  async function manage(actorId: string, orgId: string): Promise<void> {
    await organizations.get(actorId, orgId);
    if (!(await resolver.can(actorId, ENTITLEMENTS_MANAGE)))
      throw new PlatformError("forbidden", { detail: `This needs the ${ENTITLEMENTS_MANAGE} permission.` });
  }
  return {
    async view(actorId, orgId) {
      await organizations.get(actorId, orgId);
      return entitlements.describe(subject(orgId));
    },
    async addOverride(actorId, orgId, input, request) {
      await manage(actorId, orgId);
      const reason = input.reason.trim();
      if (reason === "" || reason.length > 500)
        throw new PlatformError("validation_failed", { errors: [{ path: "reason", message: "1 to 500 characters" }] });
      if (input.effect === "limit" && (input.limit === undefined || input.limit === null || input.limit < 0))
        throw new PlatformError("validation_failed", { errors: [{ path: "limit", message: "A limit of 0 or more" }] });
      return entitlements.addOverride(subject(orgId), { ...input, reason, createdBy: actorId }, request);
    },
    async removeOverride(actorId, orgId, overrideId, request) {
      await manage(actorId, orgId);
      const { overrides } = await entitlements.describe(subject(orgId));
      if (!overrides.some((override) => override.id === overrideId)) throw new PlatformError("not_found");
      await entitlements.removeOverride(overrideId, request, actorId);
    },
  };
}
