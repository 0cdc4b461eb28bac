// Social sign-in providers for operators (settings:read, oauth_providers:manage): the service the
// console's Settings page calls. Client secrets are write-only: accepted here, never answered.
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { OAUTH_PROVIDER_TYPES } from "@burrow/platform-core";
import { OAUTH_PROVIDERS_MANAGE, type ProviderListing, SETTINGS_READ } from "@burrow/platform-ops";
import { type Caller, requireActor } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";
import { jsonBody, jsonContent, problems, signedInOrApiKey } from "../schemas.ts";

const tags = ["Social login"];

const ProviderId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/)
  .openapi({ param: { name: "providerId", in: "path" }, example: "acme" });

const OAuthProvider = z
  .object({
    id: z.string(),
    type: z.enum(OAUTH_PROVIDER_TYPES),
    issuer: z.string().nullable(),
    clientId: z.string(),
    scopes: z.array(z.string()),
    trustEmail: z.boolean(),
    enabled: z.boolean(),
    source: z.enum(["config", "database"]).openapi({
      description: "`config`: from BURROW_OAUTH_PROVIDERS (changed only there); `database`: added at run time",
    }),
    createdAt: z.string().nullable(),
    updatedAt: z.string().nullable(),
  })
  .openapi("OAuthProvider");

const Fields = {
  type: z.enum(OAUTH_PROVIDER_TYPES),
  issuer: z.string().max(2000).nullable(),
  clientId: z.string().min(1).max(500),
  clientSecret: z.string().min(1).max(2000).openapi({ description: "Write-only: stored encrypted, never answered" }),
  scopes: z.array(z.string().max(200)).max(30),
  trustEmail: z.boolean(),
  enabled: z.boolean(),
};

const listProviders = createRoute({
  operationId: "listOAuthProviders",
  security: signedInOrApiKey,
  method: "get",
  path: "/v1/admin/oauth-providers",
  tags,
  summary: "Social sign-in providers, configured and added at run time (settings:read); never a secret",
  responses: { 200: jsonContent(z.object({ data: z.array(OAuthProvider) }), "Providers"), ...problems(401, 403) },
});

const createProvider = createRoute({
  operationId: "createOAuthProvider",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/oauth-providers",
  tags,
  summary: "Add a provider (oauth_providers:manage, with a recent authentication)",
  description:
    "Its redirect URI, to register at the provider, is `<PUBLIC_URL>/v1/auth/oauth/<id>/callback`. The issuer must be https:// (http:// only to a loopback address outside production); `oidc` and `microsoft` need one. An id taken by the configuration or another provider is 409. A session caller must have authenticated in the last 10 minutes (`403 reauthentication_required`).",
  request: {
    body: jsonBody(
      z
        .object({
          id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/),
          type: Fields.type,
          issuer: Fields.issuer.optional(),
          clientId: Fields.clientId,
          clientSecret: Fields.clientSecret,
          scopes: Fields.scopes.optional(),
          trustEmail: Fields.trustEmail.optional(),
          enabled: Fields.enabled.optional(),
        })
        .strict(),
    ),
  },
  responses: { 201: jsonContent(OAuthProvider, "Added"), ...problems(400, 401, 403, 409, 415) },
});

const providerParams = z.object({ providerId: ProviderId });

const updateProvider = createRoute({
  operationId: "updateOAuthProvider",
  security: signedInOrApiKey,
  method: "patch",
  path: "/v1/admin/oauth-providers/{providerId}",
  tags,
  summary: "Change, disable or enable a provider added at run time (oauth_providers:manage)",
  description:
    'Only the fields given change; a `clientSecret` replaces the stored one. A configured provider is 404 here. A session caller must have authenticated in the last 10 minutes (`403 reauthentication_required`), except for `{ "enabled": false }` alone.',
  request: {
    params: providerParams,
    body: jsonBody(
      z
        .object(Fields)
        .partial()
        .strict()
        .refine((value) => Object.keys(value).length > 0, "Change at least one field"),
    ),
  },
  responses: { 200: jsonContent(OAuthProvider, "Changed"), ...problems(400, 401, 403, 404, 415) },
});

const testProvider = createRoute({
  operationId: "testOAuthProvider",
  security: signedInOrApiKey,
  method: "post",
  path: "/v1/admin/oauth-providers/{providerId}/test",
  tags,
  summary: "Run OpenID Connect discovery against the provider's issuer now (oauth_providers:manage)",
  description:
    "Answers 200 either way: `ok: true` with the endpoints the issuer names, or `ok: false` with the failed check's `error` and `detail`. No redirect is followed, and the issuer rule of the configuration applies.",
  request: { params: providerParams },
  responses: {
    200: jsonContent(
      z
        .object({
          ok: z.boolean(),
          issuer: z.string().nullable(),
          authorizationEndpoint: z.string().optional(),
          tokenEndpoint: z.string().nullable().optional(),
          error: z.string().optional(),
          detail: z.string().optional(),
        })
        .openapi("OAuthProviderTest"),
      "What discovery answered",
    ),
    ...problems(400, 401, 403, 404),
  },
});

/** An operator's session, for the changes that need a recent authentication; an API key has none. */
const stepUpOf = (caller: Caller) => (caller.kind === "session" ? caller.session : undefined);

const providerJson = (provider: ProviderListing) => ({
  ...provider,
  createdAt: provider.createdAt?.toISOString() ?? null,
  updatedAt: provider.updatedAt?.toISOString() ?? null,
});

export function adminOAuthProviderRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { oauthProviders } = platform;
  return new OpenAPIHono<AppEnv>()
    .openapi(listProviders, async (c) => {
      const caller = await requireActor(c, SETTINGS_READ);
      return c.json({ data: (await oauthProviders.list(caller.user.id)).map(providerJson) }, 200);
    })
    .openapi(createProvider, async (c) => {
      const caller = await requireActor(c, OAUTH_PROVIDERS_MANAGE);
      const created = await oauthProviders.create(
        caller.user.id,
        c.req.valid("json"),
        c.get("requestContext"),
        stepUpOf(caller),
      );
      return c.json(providerJson(created), 201);
    })
    .openapi(updateProvider, async (c) => {
      const caller = await requireActor(c, OAUTH_PROVIDERS_MANAGE);
      const updated = await oauthProviders.update(
        caller.user.id,
        c.req.valid("param").providerId,
        c.req.valid("json"),
        c.get("requestContext"),
        stepUpOf(caller),
      );
      return c.json(providerJson(updated), 200);
    })
    .openapi(testProvider, async (c) => {
      const caller = await requireActor(c, OAUTH_PROVIDERS_MANAGE);
      return c.json(await oauthProviders.test(caller.user.id, c.req.valid("param").providerId), 200);
    });
}
