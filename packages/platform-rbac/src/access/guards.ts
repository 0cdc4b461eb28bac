import { PlatformError } from "@burrow/platform-core";
import type { Context, MiddlewareHandler } from "hono";
import type { Entitlements } from "../entitlements/entitlements.ts";
import type { PermissionResolver } from "./resolver.ts";

/** Where a guard finds the signed-in user and the organization a request is about. */
export interface GuardOptions {
  resolver: PermissionResolver;
  /** Needed by requireFeature. */
  entitlements?: Entitlements;
  /** The caller's user id, from whatever authentication the app uses; undefined when signed out. */
  userId: (c: Context) => string | undefined | Promise<string | undefined>;
}

/**
 * Hono middleware for builders' own routes.
 * @example
 * const { requirePermission, requireOrgMember } = createGuards({ resolver: rbac.resolver, userId: (c) => c.get("userId") });
 * app.post("/orgs/:orgId/projects", requirePermission("projects:write", { org: (c) => c.req.param("orgId") }), createProject);
 */
export function createGuards(options: GuardOptions) {
  async function caller(c: Context): Promise<string> {
    const userId = await options.userId(c);
    if (userId === undefined) throw new PlatformError("unauthenticated");
    return userId;
  }

  /** Lets the request through when the caller holds `permission` (in the organization, when `org` names one). */
  const requirePermission = (
    permission: string,
    guard: { org?: (c: Context) => string | undefined } = {},
  ): MiddlewareHandler =>
    async function requirePermission(c, next) {
      const userId = await caller(c);
      const orgId = guard.org?.(c) ?? null;
      if (orgId !== null && !(await options.resolver.can(userId, "org:read", { orgId })))
        throw new PlatformError("not_found");
      if (!(await options.resolver.can(userId, permission, { orgId })))
        throw new PlatformError("forbidden", { detail: `This needs the ${permission} permission.` });
      await next();
    };

  /** Lets the request through when the caller belongs to the organization (any role). */
  const requireOrgMember = (guard: { org: (c: Context) => string | undefined }): MiddlewareHandler =>
    async function requireOrgMember(c, next) {
      const userId = await caller(c);
      const orgId = guard.org(c);
      if (orgId === undefined || (await options.resolver.resolve(userId, orgId)).orgRole === null)
        throw new PlatformError("not_found");
      await next();
    };

  /** Lets the request through when the caller's (and the organization's) entitlements turn `feature` on. */
  const requireFeature = (
    feature: string,
    guard: { org?: (c: Context) => string | undefined } = {},
  ): MiddlewareHandler =>
    async function requireFeature(c, next) {
      if (options.entitlements === undefined) throw new Error("createGuards needs `entitlements` for requireFeature");
      const userId = await caller(c);
      const orgId = guard.org?.(c) ?? null;
      if (orgId !== null && !(await options.resolver.can(userId, "org:read", { orgId })))
        throw new PlatformError("not_found");
      const resolved = await options.entitlements.resolve({ userId, orgId });
      if (resolved[feature]?.enabled !== true)
        throw new PlatformError("forbidden", { detail: `Your plan does not include ${feature}.` });
      await next();
    };

  return { requirePermission, requireOrgMember, requireFeature };
}
