// Operators' social sign-in providers: those of BURROW_OAUTH_PROVIDERS (read-only) and those added at
// run time, stored by auth with their client secrets encrypted. The /v1/admin/oauth-providers routes
// and the console both call this one service, so the permission checks and the audit live here.
// A client secret goes in and never comes out: no answer of this service carries one.
import { type AuditLog, type Clock, type Database, PlatformError, type RequestContext } from "@burrow/platform-core";
import {
  assertRecentAuthentication,
  type DiscoveryCheck,
  type ProviderChanges,
  type ProviderDirectory,
  type ProviderInput,
  type StoredProvider,
} from "@burrow/platform-auth";
import type { PermissionResolver } from "@burrow/platform-rbac";
import { SETTINGS_READ } from "../settings/settings.ts";
import type { StepUp } from "../user-admin/user-admin.ts";

export const OAUTH_PROVIDERS_MANAGE = "oauth_providers:manage";

/** A provider as operators see it, wherever it comes from; never its client secret. */
export interface ProviderListing extends Omit<StoredProvider, "createdAt" | "updatedAt"> {
  /** `config`: from BURROW_OAUTH_PROVIDERS, changed only there. `database`: added at run time. */
  source: "config" | "database";
  createdAt: Date | null;
  updatedAt: Date | null;
}

export interface OAuthProviderAdministration {
  /** Every provider, the configured ones first (settings:read). */
  list(actorId: string): Promise<ProviderListing[]>;
  /**
   * Adds a provider (oauth_providers:manage); audited as `oauth.provider_configured`. A session's
   * operator (`stepUp`) must have authenticated in the last 10 minutes: a provider trusted for
   * addresses can sign in as anyone whose address it vouches for.
   */
  create(actorId: string, input: ProviderInput, request: RequestContext, stepUp?: StepUp): Promise<ProviderListing>;
  /**
   * Changes, disables or enables a stored provider; a given `clientSecret` replaces the stored one.
   * Like adding, it needs a recent authentication, except a change that only disables (it only
   * takes a way in away).
   */
  update(
    actorId: string,
    id: string,
    changes: ProviderChanges,
    request: RequestContext,
    stepUp?: StepUp,
  ): Promise<ProviderListing>;
  /** OpenID Connect discovery against the provider's issuer, now (oauth_providers:manage: it sends a request out). */
  test(actorId: string, id: string): Promise<DiscoveryCheck>;
}

const listing = (provider: StoredProvider): ProviderListing => ({ ...provider, source: "database" });

export function createOAuthProviderAdministration(options: {
  db: Database;
  providers: Pick<ProviderDirectory, "configured" | "stored" | "add" | "change" | "check">;
  audit: Pick<AuditLog, "record">;
  resolver: Pick<PermissionResolver, "can">;
  clock: Clock;
}): OAuthProviderAdministration {
  const { db, providers, audit, resolver, clock } = options;
  const recent = (stepUp: StepUp | undefined) => {
    if (stepUp !== undefined) assertRecentAuthentication(stepUp, clock.now());
  };

  async function authorize(actorId: string, permission: string): Promise<void> {
    if (!(await resolver.can(actorId, permission)))
      throw new PlatformError("forbidden", { detail: `This needs the ${permission} permission.` });
  }

  async function configured(
    tx: Database,
    actorId: string,
    id: string,
    change: string,
    changed: string[],
    request: RequestContext,
  ) {
    // The fields' names only: never their values (one of them may be the secret).
    await audit.record(
      tx,
      {
        action: "oauth.provider_configured",
        actor: { type: "user", id: actorId },
        target: { type: "oauth_provider", id },
        metadata: { provider: id, change, fields: changed },
      },
      request,
    );
  }

  return {
    async list(actorId) {
      await authorize(actorId, SETTINGS_READ);
      const fromConfig: ProviderListing[] = providers.configured().map((provider) => ({
        id: provider.id,
        type: provider.type,
        issuer: provider.issuer ?? null,
        clientId: provider.clientId,
        scopes: provider.scopes,
        trustEmail: provider.trustEmail,
        enabled: true,
        source: "config",
        createdAt: null,
        updatedAt: null,
      }));
      return [...fromConfig, ...(await providers.stored(db)).map(listing)];
    },

    async create(actorId, input, request, stepUp) {
      await authorize(actorId, OAUTH_PROVIDERS_MANAGE);
      recent(stepUp);
      return db.transaction(async (tx) => {
        const provider = await providers.add(tx, input);
        const fields = ["type", "issuer", "clientId", "clientSecret", "scopes", "trustEmail", "enabled"];
        await configured(tx, actorId, provider.id, "created", fields, request);
        return listing(provider);
      });
    },

    async update(actorId, id, changes, request, stepUp) {
      await authorize(actorId, OAUTH_PROVIDERS_MANAGE);
      const onlyDisables = Object.keys(changes).length === 1 && changes.enabled === false;
      if (!onlyDisables) recent(stepUp);
      return db.transaction(async (tx) => {
        const { provider, changed } = await providers.change(tx, id, changes);
        if (changed.length > 0) {
          const change =
            changed.includes("enabled") && changed.length === 1
              ? provider.enabled
                ? "enabled"
                : "disabled"
              : "updated";
          await configured(tx, actorId, id, change, changed, request);
        }
        return listing(provider);
      });
    },

    async test(actorId, id) {
      await authorize(actorId, OAUTH_PROVIDERS_MANAGE);
      return providers.check(db, id);
    },
  };
}
