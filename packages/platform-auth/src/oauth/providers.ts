import { eq } from "drizzle-orm";
import * as oidc from "openid-client";
import {
  issuerAllowed,
  OAUTH_PRESET_ISSUERS,
  PlatformError,
  type Clock,
  type Config,
  type Database,
  type KeyRing,
  type OAuthProviderConfig,
} from "@burrow/platform-core";
import { oauthProviders } from "../schema.ts";

/** The scopes every OpenID Connect sign-in asks for; a provider's own `scopes` are added. */
const BASE_SCOPES = ["openid", "email", "profile"];

/** A provider ready for a sign-in: its settings and what its discovery document says. */
export interface ResolvedProvider {
  settings: OAuthProviderConfig;
  scope: string;
  /**
   * A relying-party configuration for one exchange. Made anew each time so that "now" for the ID
   * token's checks is the injected clock's (the tests move it), not the process's.
   */
  client(): oidc.Configuration;
}

export interface ProviderDirectory {
  /** The provider named in a URL, enabled and of a kind that can sign in; otherwise 404. */
  resolve(db: Database, id: string): Promise<ResolvedProvider>;
}

const aad = (id: string) => `oauth-provider:${id}`;

/** Encrypts an operator-given client secret for `oauth_providers` (bound to the provider's id). */
export function sealClientSecret(keyRing: KeyRing, id: string, secret: string): string {
  return keyRing.encrypt(secret, aad(id));
}

export function createProviderDirectory(deps: { config: Config; clock: Clock; keyRing: KeyRing }): ProviderDirectory {
  const { config, clock, keyRing } = deps;
  // Discovery documents change rarely; one fetch per issuer and process. A failed fetch is not kept.
  const discovered = new Map<string, Promise<oidc.ServerMetadata>>();

  function discover(issuer: string): Promise<oidc.ServerMetadata> {
    let metadata = discovered.get(issuer);
    if (metadata === undefined) {
      const insecure = new URL(issuer).protocol === "http:";
      metadata = oidc
        .discovery(new URL(issuer), "discovery", undefined, undefined, {
          ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
          timeout: 10,
        })
        .then((configuration) => configuration.serverMetadata());
      discovered.set(issuer, metadata);
      metadata.catch(() => discovered.delete(issuer));
    }
    return metadata;
  }

  async function settingsOf(db: Database, id: string): Promise<OAuthProviderConfig | undefined> {
    const configured = Object.hasOwn(config.oauth.providers, id) ? config.oauth.providers[id] : undefined;
    if (configured !== undefined) return configured;
    const [row] = await db.select().from(oauthProviders).where(eq(oauthProviders.id, id));
    if (row === undefined || !row.enabled) return undefined;
    return {
      id: row.id,
      type: row.type,
      issuer: row.issuer ?? OAUTH_PRESET_ISSUERS[row.type],
      clientId: row.clientId,
      clientSecret: keyRing.decrypt(row.clientSecretEncrypted, aad(row.id)),
      scopes: row.scopes,
      trustEmail: row.trustEmail,
    };
  }

  return {
    async resolve(db, id) {
      const settings = await settingsOf(db, id);
      // GitHub speaks OAuth 2.0 without OpenID Connect: not served yet.
      if (settings === undefined || settings.issuer === undefined || settings.type === "github")
        throw new PlatformError("not_found", { detail: "There is no such sign-in provider." });
      const issuer = settings.issuer;
      if (!issuerAllowed(issuer, config.env === "production"))
        throw new PlatformError("not_found", { detail: "There is no such sign-in provider." });
      let metadata: oidc.ServerMetadata;
      try {
        metadata = await discover(issuer);
      } catch {
        throw new PlatformError("service_unavailable", { detail: "The sign-in provider cannot be reached." });
      }
      return {
        settings,
        scope: [...new Set([...BASE_SCOPES, ...settings.scopes])].join(" "),
        client() {
          const skew = Math.floor(clock.now().getTime() / 1000) - Math.floor(Date.now() / 1000);
          const client = new oidc.Configuration(metadata, settings.clientId, {
            client_secret: settings.clientSecret,
            [oidc.clockSkew]: skew,
          });
          if (new URL(issuer).protocol === "http:") oidc.allowInsecureRequests(client);
          client.timeout = 10;
          return client;
        },
      };
    },
  };
}
