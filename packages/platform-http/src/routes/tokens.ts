import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema, PlatformError } from "@burrow/platform-core";
import type { ApiKeyRow } from "@burrow/platform-auth";
import { requireSession } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";
import {
  Email,
  jsonBody,
  jsonContent,
  MfaRequired,
  PasswordInput,
  problems,
  apiKeyOnly,
  signedIn,
  TokenResponse,
} from "../schemas.ts";

const tags = ["Tokens and keys"];

/** The organization the access token acts for: its claims carry the caller's role and permissions there. */
const OrgIdField = idSchema("organization")
  .openapi({ type: "string", description: "Mint the token for this organization (refreshes keep it)." })
  .optional();
const Grant = z.discriminatedUnion("grantType", [
  z.object({ grantType: z.literal("password"), email: Email, password: PasswordInput, orgId: OrgIdField }).strict(),
  z.object({ grantType: z.literal("refresh_token"), refreshToken: z.string().min(1).max(200) }).strict(),
  z.object({ grantType: z.literal("session"), orgId: OrgIdField }).strict(),
]);

const token = createRoute({
  operationId: "issueToken",
  security: [],
  method: "post",
  path: "/v1/auth/token",
  tags,
  summary: "Issue an access token (and a rotating refresh token)",
  description:
    "`password`: for native clients, with the same lockout, limits and enumeration safety as sign-in. `refresh_token`: exchanges a refresh token for a new pair; a token used twice outside the grace window revokes its family and session. `session`: a signed-in session mints a short access token.",
  request: { body: jsonBody(Grant) },
  responses: {
    200: jsonContent(z.union([TokenResponse, MfaRequired]), "Tokens, or a second factor is required"),
    ...problems(400, 401, 403, 415, 429),
  },
});

const revoke = createRoute({
  operationId: "revokeToken",
  security: [],
  method: "post",
  path: "/v1/auth/token/revoke",
  tags,
  summary: "Revoke a refresh token's family and its session (RFC 7009: the same answer for any token)",
  request: { body: jsonBody(z.object({ refreshToken: z.string().min(1).max(200) }).strict()) },
  responses: {
    200: jsonContent(z.object({ revoked: z.literal(true) }), "Revoked, or nothing to revoke"),
    ...problems(400, 415),
  },
});

const Introspection = z
  .object({
    active: z.boolean(),
    sub: z.string().optional(),
    sid: z.string().optional(),
    exp: z.number().optional(),
    iat: z.number().optional(),
    iss: z.string().optional(),
    aud: z.union([z.string(), z.array(z.string())]).optional(),
    jti: z.string().optional(),
    token_type: z.literal("access_token").optional(),
  })
  .openapi("Introspection");

const introspect = createRoute({
  operationId: "introspectToken",
  security: apiKeyOnly,
  method: "post",
  path: "/v1/auth/introspect",
  tags,
  summary: "Is this access token active right now? (RFC 7662-style)",
  description:
    "Checks the signature, expiry and that the token's session has not been revoked, for services that cannot wait for expiry. The caller authenticates with an API key holding `tokens:introspect` (RFC 7662 §2.1).",
  request: { body: jsonBody(z.object({ token: z.string().min(1).max(4096) }).strict()) },
  responses: { 200: jsonContent(Introspection, "The answer"), ...problems(400, 401, 403, 415) },
});

const jwks = createRoute({
  operationId: "getJwks",
  security: [],
  method: "get",
  path: "/.well-known/jwks.json",
  tags,
  summary: "Public keys that verify access tokens",
  responses: {
    200: jsonContent(
      z.object({ keys: z.array(z.record(z.string(), z.string())) }).openapi("JWKS"),
      "The active and retiring keys",
    ),
  },
});

const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(z.string()),
    expiresAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi("ApiKey");

const listKeys = createRoute({
  operationId: "listApiKeys",
  security: signedIn,
  method: "get",
  path: "/v1/api-keys",
  tags,
  summary: "The caller's API keys",
  responses: {
    200: jsonContent(z.object({ data: z.array(ApiKey) }), "Keys (secrets are never shown again)"),
    ...problems(401, 403),
  },
});
const createKey = createRoute({
  operationId: "createApiKey",
  security: signedIn,
  method: "post",
  path: "/v1/api-keys",
  tags,
  summary: "Create an API key (recent re-authentication required); the secret is shown once",
  request: {
    body: jsonBody(
      z
        .object({
          name: z.string().trim().min(1).max(100),
          scopes: z.array(z.string().max(100)).min(1).max(50),
          expiresAt: z.iso.datetime({ offset: true }).optional(),
        })
        .strict(),
    ),
  },
  responses: { 201: jsonContent(ApiKey.extend({ secret: z.string() }), "Created"), ...problems(400, 401, 403, 415) },
});
const revokeKey = createRoute({
  operationId: "revokeApiKey",
  security: signedIn,
  method: "delete",
  path: "/v1/api-keys/{keyId}",
  tags,
  summary: "Revoke an API key",
  request: {
    params: z.object({ keyId: idSchema("apiKey").openapi({ param: { name: "keyId", in: "path" }, type: "string" }) }),
  },
  responses: { 204: { description: "Revoked" }, ...problems(400, 401, 403, 404) },
});

const rotateKeys = createRoute({
  operationId: "rotateSigningKeys",
  security: signedIn,
  method: "post",
  path: "/v1/admin/signing-keys/rotate",
  tags,
  summary:
    "Rotate the access-token signing key (platform permission signing_keys:rotate; recent re-authentication required)",
  responses: { 200: jsonContent(z.object({ kid: z.string() }), "The new active key"), ...problems(401, 403) },
});

const toApiKey = (row: ApiKeyRow) => ({
  id: row.id,
  name: row.name,
  prefix: row.prefix,
  scopes: row.scopes,
  expiresAt: row.expiresAt?.toISOString() ?? null,
  lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  createdAt: row.createdAt.toISOString(),
  revokedAt: row.revokedAt?.toISOString() ?? null,
});

export function tokenRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { auth } = platform;
  return new OpenAPIHono<AppEnv>()
    .openapi(token, async (c) => {
      const grant = c.req.valid("json");
      const request = c.get("requestContext");
      if (grant.grantType === "password") return c.json(await auth.accessTokens.passwordGrant(grant, request), 200);
      if (grant.grantType === "refresh_token")
        return c.json(await auth.accessTokens.refreshGrant(grant.refreshToken, request), 200);
      const caller = await requireSession(c);
      return c.json(await auth.accessTokens.sessionGrant(caller.session, request, grant.orgId ?? null), 200);
    })
    .openapi(revoke, async (c) => {
      await auth.refreshTokens.revoke(c.req.valid("json").refreshToken, c.get("requestContext"));
      return c.json({ revoked: true as const }, 200);
    })
    .openapi(introspect, async (c) => {
      const caller = await c.get("authentication").require();
      if (caller.kind !== "api_key")
        throw new PlatformError("forbidden", {
          detail: "Introspection needs an API key (a client credential), not a user's session.",
        });
      return c.json(await auth.accessTokens.introspect(c.req.valid("json").token, caller.key), 200);
    })
    .openapi(jwks, (c) => {
      // Verifiers may cache the set for five minutes; a new key is published long before it signs.
      c.header("Cache-Control", "public, max-age=300");
      return c.json(auth.signingKeys.jwks() as { keys: Record<string, string>[] }, 200);
    })
    .openapi(listKeys, async (c) => {
      const caller = await requireSession(c);
      return c.json({ data: (await auth.apiKeys.list(platform.db, caller.user.id)).map(toApiKey) }, 200);
    })
    .openapi(createKey, async (c) => {
      const caller = await requireSession(c);
      const body = c.req.valid("json");
      const { key, secret } = await auth.apiKeys.create(
        caller.session,
        {
          name: body.name,
          scopes: body.scopes,
          expiresAt: body.expiresAt === undefined ? null : new Date(body.expiresAt),
        },
        c.get("requestContext"),
      );
      return c.json({ ...toApiKey(key), secret }, 201);
    })
    .openapi(rotateKeys, async (c) => {
      const caller = await requireSession(c);
      return c.json({ kid: await auth.signingKeys.rotateAs(caller.session, c.get("requestContext")) }, 200);
    })
    .openapi(revokeKey, async (c) => {
      const caller = await requireSession(c);
      await auth.apiKeys.revoke(caller.user.id, c.req.valid("param").keyId, c.get("requestContext"));
      return c.body(null, 204);
    });
}
