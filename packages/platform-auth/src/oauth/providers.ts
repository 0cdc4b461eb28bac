import { asc, eq } from "drizzle-orm";
import * as oidc from "openid-client";
import {
  issuerAllowed,
  OAUTH_GITHUB_ENDPOINTS,
  OAUTH_PRESET_ISSUERS,
  OAUTH_PROVIDER_TYPES,
  type OAuthProviderType,
  PlatformError,
  type Clock,
  type Config,
  type Database,
  type KeyRing,
  type OAuthProviderConfig,
} from "@burrow/platform-core";
import { oauthProviders } from "../schema.ts";
import { GITHUB_SCOPES, gitHubServerMetadata } from "./github.ts";

/** The scopes every OpenID Connect sign-in asks for; a provider's own `scopes` are added. */
const BASE_SCOPES = ["openid", "email", "profile"];

/** A provider ready for a sign-in: its settings and what its discovery document (GitHub: its preset endpoints) says. */
export interface ResolvedProvider {
  settings: OAuthProviderConfig;
  /** `oidc`: an ID token proves who signed in. `github`: OAuth 2.0, then GitHub's user and emails APIs. */
  protocol: "oidc" | "github";
  scope: string;
  /**
   * A relying-party configuration for one exchange. Made anew each time so that "now" for the ID
   * token's checks is the injected clock's (the tests move it), not the process's.
   */
  client(): oidc.Configuration;
}

/** A provider an operator added at run time (`oauth_providers`), as operators see it: never its secret. */
export interface StoredProvider {
  id: string;
  type: OAuthProviderType;
  issuer: string | null;
  clientId: string;
  scopes: string[];
  trustEmail: boolean;
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** A new provider. `trustEmail` defaults as in the configuration (true for Google only). */
export interface ProviderInput {
  id: string;
  type: string;
  issuer?: string | null | undefined;
  clientId: string;
  clientSecret: string;
  scopes?: string[] | undefined;
  trustEmail?: boolean | undefined;
  enabled?: boolean | undefined;
}

/** A change: only the fields given; a `clientSecret` given replaces the stored one. */
export type ProviderChanges = Partial<Omit<ProviderInput, "id">>;

/** What OpenID Connect discovery against a provider's issuer answered. */
export type DiscoveryCheck =
  | { ok: true; issuer: string; authorizationEndpoint: string; tokenEndpoint: string | null }
  | { ok: false; issuer: string | null; error: string; detail: string };

export interface ProviderDirectory {
  /** The provider named in a URL, enabled and of a kind that can sign in; otherwise 404. */
  resolve(db: Database, id: string): Promise<ResolvedProvider>;
  /** The providers of BURROW_OAUTH_PROVIDERS (with their secrets: callers must not pass those on). */
  configured(): OAuthProviderConfig[];
  /** The providers added at run time, by id. */
  stored(db: Database): Promise<StoredProvider[]>;
  /** Adds a provider (its secret encrypted with the key ring); 409 `conflict` when the id is taken. */
  add(tx: Database, input: ProviderInput): Promise<StoredProvider>;
  /** Changes a stored provider (404 for an unknown id or one from the configuration); what changed. */
  change(tx: Database, id: string, changes: ProviderChanges): Promise<{ provider: StoredProvider; changed: string[] }>;
  /**
   * Runs discovery afresh (not from the cache) against the provider's issuer, configured or stored,
   * enabled or not; 404 for an unknown id. Only to an issuer the configuration's rule allows.
   */
  check(db: Database, id: string): Promise<DiscoveryCheck>;
}

const PROVIDER_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

const aad = (id: string) => `oauth-provider:${id}`;

/** Encrypts an operator-given client secret for `oauth_providers` (bound to the provider's id). */
export function sealClientSecret(keyRing: KeyRing, id: string, secret: string): string {
  return keyRing.encrypt(secret, aad(id));
}

/** The stored provider's fields, checked by the configuration's rules; every issue at once. */
function checkedProvider(
  input: Omit<ProviderInput, "clientSecret"> & { clientSecret: string | undefined },
  production: boolean,
) {
  const errors: { path: string; message: string }[] = [];
  const issue = (path: string, message: string) => errors.push({ path, message });
  if (!PROVIDER_ID.test(input.id)) issue("id", "1-40 lower-case letters, digits or dashes, not starting with a dash");
  const type = (OAUTH_PROVIDER_TYPES as readonly string[]).includes(input.type)
    ? (input.type as OAuthProviderType)
    : undefined;
  if (type === undefined) issue("type", `One of ${OAUTH_PROVIDER_TYPES.join(", ")}`);
  const issuer =
    input.issuer === undefined || input.issuer === null || input.issuer.trim() === "" ? null : input.issuer.trim();
  if (issuer === null && (type === "oidc" || type === "microsoft"))
    issue("issuer", "Required for oidc and microsoft (microsoft: https://login.microsoftonline.com/<tenant id>/v2.0)");
  // The configuration's rule: an attacker on the path of a plain-http issuer could swap its keys.
  if (issuer !== null && (issuer.length > 2000 || !issuerAllowed(issuer, production)))
    issue("issuer", "An https:// URL (http:// only to a loopback address outside production)");
  const clientId = input.clientId.trim();
  if (clientId.length < 1 || clientId.length > 500) issue("clientId", "1-500 characters");
  if (input.clientSecret !== undefined && (input.clientSecret.length < 1 || input.clientSecret.length > 2000))
    issue("clientSecret", "1-2000 characters");
  const scopes = input.scopes ?? [];
  if (scopes.length > 30) issue("scopes", "At most 30");
  for (const scope of scopes)
    if (!SCOPE_TOKEN.test(scope) || scope.length > 200) issue("scopes", `${scope} is not a scope`);
  if (errors.length > 0) throw new PlatformError("validation_failed", { errors });
  return {
    id: input.id,
    type: type!,
    issuer,
    clientId,
    scopes: [...new Set(scopes)],
    trustEmail: input.trustEmail ?? (type === "google" || type === "github"),
    enabled: input.enabled ?? true,
  };
}

const storedView = (row: typeof oauthProviders.$inferSelect): StoredProvider => ({
  id: row.id,
  type: row.type,
  issuer: row.issuer,
  clientId: row.clientId,
  scopes: row.scopes,
  trustEmail: row.trustEmail,
  enabled: row.enabled,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

const errorCode = (error: unknown): string =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : "unreachable";

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

  async function settingsOf(
    db: Database,
    id: string,
    options: { disabledToo?: boolean } = {},
  ): Promise<OAuthProviderConfig | undefined> {
    const configured = Object.hasOwn(config.oauth.providers, id) ? config.oauth.providers[id] : undefined;
    if (configured !== undefined) return configured;
    const [row] = await db.select().from(oauthProviders).where(eq(oauthProviders.id, id));
    if (row === undefined || (!row.enabled && options.disabledToo !== true)) return undefined;
    return {
      id: row.id,
      type: row.type,
      issuer: row.issuer ?? OAUTH_PRESET_ISSUERS[row.type],
      clientId: row.clientId,
      clientSecret: keyRing.decrypt(row.clientSecretEncrypted, aad(row.id)),
      scopes: row.scopes,
      trustEmail: row.trustEmail,
      ...(row.type === "github" ? { endpoints: OAUTH_GITHUB_ENDPOINTS } : {}),
    };
  }

  const production = config.env === "production";
  /**
   * GitHub has no discovery document: its check asks the token endpoint to redeem a code that does
   * not exist, with the provider's client id and secret. GitHub answers `bad_verification_code` when
   * it accepted the client's credentials and `incorrect_client_credentials` when not; no code, token
   * or user is involved, and the secret goes only to the token endpoint, in the body.
   */
  async function checkGitHub(settings: OAuthProviderConfig): Promise<DiscoveryCheck> {
    const endpoints = settings.endpoints ?? OAUTH_GITHUB_ENDPOINTS;
    const issuer = new URL(endpoints.authorization).origin;
    if (!Object.values(endpoints).every((url) => issuerAllowed(url, production)))
      return {
        ok: false,
        issuer,
        error: "issuer_not_allowed",
        detail: "GitHub's endpoints must be https:// (http:// only to a loopback address outside production).",
      };
    try {
      const response = await fetch(endpoints.token, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(10_000),
        headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          client_id: settings.clientId,
          client_secret: settings.clientSecret,
          code: "burrow-credentials-check",
        }),
      });
      const answer = (await response.json().catch(() => ({}))) as { error?: unknown };
      if (answer.error === "bad_verification_code")
        return { ok: true, issuer, authorizationEndpoint: endpoints.authorization, tokenEndpoint: endpoints.token };
      const error = typeof answer.error === "string" ? answer.error.slice(0, 60) : `status_${response.status}`;
      return {
        ok: false,
        issuer,
        error,
        detail:
          error === "incorrect_client_credentials"
            ? "GitHub refused the client id or secret."
            : "GitHub's token endpoint did not answer as GitHub does.",
      };
    } catch (error) {
      const detail = error instanceof Error ? error.message.slice(0, 300) : "The token endpoint did not answer.";
      return { ok: false, issuer, error: "unreachable", detail };
    }
  }

  const configuredOne = (id: string) =>
    Object.hasOwn(config.oauth.providers, id) ? config.oauth.providers[id] : undefined;
  const noSuchProvider = () => new PlatformError("not_found", { detail: "There is no such sign-in provider." });

  return {
    configured: () => Object.values(config.oauth.providers),

    async stored(db) {
      return (await db.select().from(oauthProviders).orderBy(asc(oauthProviders.id))).map(storedView);
    },

    async add(tx, input) {
      const provider = checkedProvider(input, production);
      // A configured provider wins over a stored one of the same id: adding one would be shadowed.
      if (configuredOne(provider.id) !== undefined)
        throw new PlatformError("conflict", { detail: "A provider with this id comes from the configuration." });
      const now = clock.now();
      const [row] = await tx
        .insert(oauthProviders)
        .values({
          ...provider,
          clientSecretEncrypted: sealClientSecret(keyRing, provider.id, input.clientSecret),
          createdAt: now,
          updatedAt: now,
        })
        .onConflictDoNothing()
        .returning();
      if (row === undefined) throw new PlatformError("conflict", { detail: "A provider with this id exists." });
      return storedView(row);
    },

    async change(tx, id, changes) {
      const [row] = await tx.select().from(oauthProviders).where(eq(oauthProviders.id, id)).for("update");
      if (row === undefined) throw noSuchProvider();
      const current = storedView(row);
      const merged = checkedProvider(
        {
          id,
          type: changes.type ?? current.type,
          issuer: changes.issuer === undefined ? current.issuer : changes.issuer,
          clientId: changes.clientId ?? current.clientId,
          clientSecret: changes.clientSecret,
          scopes: changes.scopes ?? current.scopes,
          trustEmail: changes.trustEmail ?? current.trustEmail,
          enabled: changes.enabled ?? current.enabled,
        },
        production,
      );
      const changed: string[] = [];
      for (const field of ["type", "issuer", "clientId", "trustEmail", "enabled"] as const)
        if (merged[field] !== current[field]) changed.push(field);
      if (merged.scopes.join(" ") !== current.scopes.join(" ")) changed.push("scopes");
      if (changes.clientSecret !== undefined) changed.push("clientSecret");
      if (changed.length === 0) return { provider: current, changed };
      const [updated] = await tx
        .update(oauthProviders)
        .set({
          ...merged,
          ...(changes.clientSecret === undefined
            ? {}
            : { clientSecretEncrypted: sealClientSecret(keyRing, id, changes.clientSecret) }),
          updatedAt: clock.now(),
        })
        .where(eq(oauthProviders.id, id))
        .returning();
      return { provider: storedView(updated!), changed };
    },

    async check(db, id) {
      const settings = await settingsOf(db, id, { disabledToo: true });
      if (settings === undefined) throw noSuchProvider();
      if (settings.type === "github") return checkGitHub(settings);
      const issuer = settings.issuer ?? null;
      if (issuer === null)
        return { ok: false, issuer, error: "no_issuer", detail: "This kind of provider has no OpenID Connect issuer." };
      // Checked again here: the environment may have become production since the row was written.
      if (!issuerAllowed(issuer, production))
        return {
          ok: false,
          issuer,
          error: "issuer_not_allowed",
          detail: "The issuer must be https:// (http:// only to a loopback address outside production).",
        };
      const insecure = new URL(issuer).protocol === "http:";
      try {
        const configuration = await oidc.discovery(new URL(issuer), "discovery", undefined, undefined, {
          ...(insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
          timeout: 10,
        });
        const metadata = configuration.serverMetadata();
        return {
          ok: true,
          issuer: metadata.issuer,
          authorizationEndpoint: metadata.authorization_endpoint ?? "",
          tokenEndpoint: metadata.token_endpoint ?? null,
        };
      } catch (error) {
        // The library's message names the failed check (status, issuer mismatch, not JSON); no secret
        // takes part in discovery.
        const detail = error instanceof Error ? error.message.slice(0, 300) : "Discovery failed.";
        return { ok: false, issuer, error: errorCode(error), detail };
      }
    },

    async resolve(db, id) {
      const settings = await settingsOf(db, id);
      if (settings === undefined) throw noSuchProvider();
      const skewOf = () => Math.floor(clock.now().getTime() / 1000) - Math.floor(Date.now() / 1000);
      if (settings.type === "github") {
        const endpoints = settings.endpoints ?? OAUTH_GITHUB_ENDPOINTS;
        // Checked again here: the environment may have become production since the configuration was read.
        if (!Object.values(endpoints).every((url) => issuerAllowed(url, production))) throw noSuchProvider();
        const metadata = gitHubServerMetadata(endpoints);
        return {
          settings: { ...settings, endpoints },
          protocol: "github",
          scope: [...new Set([...GITHUB_SCOPES, ...settings.scopes])].join(" "),
          client() {
            const client = new oidc.Configuration(metadata, settings.clientId, {
              client_secret: settings.clientSecret,
              [oidc.clockSkew]: skewOf(),
            });
            if (Object.values(endpoints).some((url) => new URL(url).protocol === "http:"))
              oidc.allowInsecureRequests(client);
            client.timeout = 10;
            return client;
          },
        };
      }
      if (settings.issuer === undefined) throw noSuchProvider();
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
        protocol: "oidc",
        scope: [...new Set([...BASE_SCOPES, ...settings.scopes])].join(" "),
        client() {
          const client = new oidc.Configuration(metadata, settings.clientId, {
            client_secret: settings.clientSecret,
            [oidc.clockSkew]: skewOf(),
          });
          if (new URL(issuer).protocol === "http:") oidc.allowInsecureRequests(client);
          // The library skips the ID token's signature when it comes straight from the token endpoint
          // (OIDC Core 3.1.3.7 lets TLS stand in). ASVS V6.8.2 wants it checked always: against the
          // provider's JWKS, so a forged or misrouted token endpoint answer cannot sign anyone in.
          oidc.enableNonRepudiationChecks(client);
          client.timeout = 10;
          return client;
        },
      };
    },
  };
}
