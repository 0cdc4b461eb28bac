import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema } from "@burrow/platform-core";
import type { FactorRow } from "@burrow/platform-auth";
import { requireSession } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";
import { jsonBody, jsonContent, problems, SignedIn, signedIn } from "../schemas.ts";
import { issueSessionToken, signedInResponse } from "./signed-in.ts";

const tags = ["Multi-factor"];
const Code = z.string().regex(/^\d{6}$/, "Must be 6 digits");
const Factor = z
  .object({
    id: z.string(),
    type: z.enum(["totp", "passkey"]),
    label: z.string(),
    confirmed: z.boolean(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
  })
  .openapi("MfaFactor");
const RecoveryCodes = z
  .object({
    recoveryCodes: z.array(z.string()).nullable(),
    sessionToken: z.string().optional().openapi({
      description:
        "When enrolment lifted the MFA policy's restriction: the session's new token (bearer clients; browsers get a new cookie).",
    }),
  })
  .openapi("RecoveryCodes");
const FactorIdParam = z.object({
  factorId: idSchema("factor").openapi({ param: { name: "factorId", in: "path" }, type: "string" }),
});

const enroll = createRoute({
  operationId: "enrollTotp",
  security: signedIn,
  method: "post",
  path: "/v1/mfa/totp/enroll",
  tags,
  summary: "Start adding an authenticator app (recent re-authentication required)",
  request: { body: jsonBody(z.object({ label: z.string().trim().min(1).max(100).optional() }).strict()) },
  responses: {
    200: jsonContent(
      z
        .object({ factorId: z.string(), secret: z.string(), otpauthUrl: z.string(), qrSvg: z.string() })
        .openapi("TotpEnrolment"),
      "Scan the QR code, then confirm with a code",
    ),
    ...problems(400, 401, 403, 415),
  },
});
const confirm = createRoute({
  operationId: "confirmTotp",
  security: signedIn,
  method: "post",
  path: "/v1/mfa/totp/confirm",
  tags,
  summary: "Activate the authenticator app with a code; the first factor also returns 10 recovery codes",
  request: {
    body: jsonBody(z.object({ factorId: idSchema("factor").openapi({ type: "string" }), code: Code }).strict()),
  },
  responses: { 200: jsonContent(RecoveryCodes, "Active"), ...problems(400, 401, 403, 404, 409, 415) },
});
const remove = createRoute({
  operationId: "removeTotp",
  security: signedIn,
  method: "delete",
  path: "/v1/mfa/totp/{factorId}",
  tags,
  summary: "Remove an authenticator app (recent re-authentication required)",
  request: { params: FactorIdParam },
  responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404) },
});
const list = createRoute({
  operationId: "listMfaFactors",
  security: signedIn,
  method: "get",
  path: "/v1/mfa/factors",
  tags,
  summary: "The caller's second factors",
  responses: { 200: jsonContent(z.object({ data: z.array(Factor) }), "Factors"), ...problems(401, 403) },
});
const regenerate = createRoute({
  operationId: "regenerateRecoveryCodes",
  security: signedIn,
  method: "post",
  path: "/v1/mfa/recovery-codes",
  tags,
  summary: "Make 10 new recovery codes; the old ones stop working (recent re-authentication required)",
  responses: { 200: jsonContent(RecoveryCodes, "New codes, shown once"), ...problems(401, 403, 409) },
});
/** A WebAuthn response as @simplewebauthn/browser produces it; the server library checks every field. */
const CredentialResponse = z
  .looseObject({
    id: z.string().max(1024),
    rawId: z.string().max(1024),
    type: z.literal("public-key"),
    response: z.looseObject({}),
  })
  .openapi("WebAuthnResponse", { description: "The JSON from startRegistration() or startAuthentication()." });
const Assertion = z
  .object({ ceremonyId: idSchema("webauthnChallenge").openapi({ type: "string" }), response: CredentialResponse })
  .strict();
const Ceremony = z
  .object({ ceremonyId: z.string(), options: z.record(z.string(), z.unknown()) })
  .openapi("WebAuthnCeremony");
const PasskeyIdParam = z.object({
  passkeyId: idSchema("factor").openapi({ param: { name: "passkeyId", in: "path" }, type: "string" }),
});

const registerOptions = createRoute({
  operationId: "getPasskeyRegistrationOptions",
  security: signedIn,
  method: "post",
  path: "/v1/passkeys/register/options",
  tags,
  summary: "Start adding a passkey (recent re-authentication required)",
  responses: { 200: jsonContent(Ceremony, "Options for startRegistration()"), ...problems(401, 403) },
});
const registerVerify = createRoute({
  operationId: "registerPasskey",
  security: signedIn,
  method: "post",
  path: "/v1/passkeys/register/verify",
  tags,
  summary: "Finish adding a passkey",
  request: {
    body: jsonBody(
      z
        .object({
          ceremonyId: idSchema("webauthnChallenge").openapi({ type: "string" }),
          response: CredentialResponse,
          label: z.string().trim().min(1).max(100).optional(),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonContent(
      z.object({ passkey: Factor, recoveryCodes: z.array(z.string()).nullable(), sessionToken: z.string().optional() }),
      "Added",
    ),
    ...problems(400, 401, 403, 409, 415),
  },
});
const listPasskeys = createRoute({
  operationId: "listPasskeys",
  security: signedIn,
  method: "get",
  path: "/v1/passkeys",
  tags,
  summary: "The caller's passkeys",
  responses: { 200: jsonContent(z.object({ data: z.array(Factor) }), "Passkeys"), ...problems(401, 403) },
});
const renamePasskey = createRoute({
  operationId: "renamePasskey",
  security: signedIn,
  method: "patch",
  path: "/v1/passkeys/{passkeyId}",
  tags,
  summary: "Rename a passkey",
  request: { params: PasskeyIdParam, body: jsonBody(z.object({ label: z.string().trim().min(1).max(100) }).strict()) },
  responses: { 200: jsonContent(Factor, "Renamed"), ...problems(400, 401, 403, 404, 415) },
});
const deletePasskey = createRoute({
  operationId: "deletePasskey",
  security: signedIn,
  method: "delete",
  path: "/v1/passkeys/{passkeyId}",
  tags,
  summary: "Remove a passkey (recent re-authentication required)",
  request: { params: PasskeyIdParam },
  responses: { 204: { description: "Removed" }, ...problems(400, 401, 403, 404) },
});
const signInOptions = createRoute({
  operationId: "getPasskeySignInOptions",
  security: [],
  method: "post",
  path: "/v1/auth/passkey/options",
  tags,
  summary: "Start signing in with a passkey alone (no username; reveals nothing about accounts)",
  responses: { 200: jsonContent(Ceremony, "Options for startAuthentication()") },
});
const signInVerify = createRoute({
  operationId: "signInWithPasskey",
  security: [],
  method: "post",
  path: "/v1/auth/passkey/verify",
  tags,
  summary: "Sign in with a passkey",
  request: { body: jsonBody(Assertion) },
  responses: { 200: jsonContent(SignedIn, "Signed in"), ...problems(400, 401, 415) },
});
const mfaPasskeyOptions = createRoute({
  operationId: "getMfaPasskeyOptions",
  security: [],
  method: "post",
  path: "/v1/auth/mfa/passkey/options",
  tags,
  summary: "Options to answer an MFA challenge with a passkey",
  request: { body: jsonBody(z.object({ mfaToken: z.string().min(1).max(200) }).strict()) },
  responses: { 200: jsonContent(Ceremony, "Options for startAuthentication()"), ...problems(400, 401, 409, 415) },
});
const reauthPasskeyOptions = createRoute({
  operationId: "getReauthenticationPasskeyOptions",
  security: signedIn,
  method: "post",
  path: "/v1/auth/reauthenticate/passkey/options",
  tags,
  summary: "Options to re-authenticate with a passkey",
  responses: { 200: jsonContent(Ceremony, "Options for startAuthentication()"), ...problems(401, 403, 409) },
});

const verify = createRoute({
  operationId: "verifyMfa",
  security: [],
  method: "post",
  path: "/v1/auth/mfa/verify",
  tags,
  summary: "Finish a sign-in with a second factor",
  description:
    "Answers with a session (cookie and body), or with tokens when the sign-in began with the password grant.",
  request: {
    body: jsonBody(
      z.union([
        z
          .object({
            mfaToken: z.string().min(1).max(200),
            method: z.enum(["totp", "recovery_code"]),
            code: z.string().min(1).max(32),
          })
          .strict(),
        z.object({ mfaToken: z.string().min(1).max(200), method: z.literal("passkey"), assertion: Assertion }).strict(),
      ]),
    ),
  },
  responses: {
    200: jsonContent(
      z.union([
        SignedIn.extend({ redirectTo: z.string().nullable() }),
        z.object({
          accessToken: z.string(),
          tokenType: z.literal("Bearer"),
          expiresIn: z.number(),
          refreshToken: z.string().optional(),
        }),
      ]),
      "Signed in",
    ),
    ...problems(400, 401, 415, 429),
  },
});

const toFactor = (row: FactorRow) => ({
  id: row.id,
  type: row.type,
  label: row.label,
  confirmed: row.confirmedAt !== null,
  createdAt: row.createdAt.toISOString(),
  lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
});

export function mfaRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { auth } = platform;
  return new OpenAPIHono<AppEnv>()
    .openapi(enroll, async (c) => {
      const caller = await requireSession(c, { allowRestricted: true });
      return c.json(
        await auth.factors.enrollTotp(
          caller.session,
          c.req.valid("json").label ?? "Authenticator app",
          c.get("requestContext"),
        ),
        200,
      );
    })
    .openapi(confirm, async (c) => {
      const caller = await requireSession(c, { allowRestricted: true });
      const body = c.req.valid("json");
      const { recoveryCodes, sessionToken } = await auth.factors.confirmTotp(
        caller.session,
        body.factorId,
        body.code,
        c.get("requestContext"),
      );
      // Enrolment that lifted the policy's restriction is an authentication: the session gets a new token.
      return c.json(
        { recoveryCodes, ...(sessionToken === null ? {} : issueSessionToken(c, platform, sessionToken)) },
        200,
      );
    })
    .openapi(remove, async (c) => {
      const caller = await requireSession(c);
      await auth.factors.remove(caller.session, c.req.valid("param").factorId, c.get("requestContext"));
      return c.body(null, 204);
    })
    .openapi(list, async (c) => {
      const caller = await requireSession(c, { allowRestricted: true });
      return c.json({ data: (await auth.factors.list(platform.db, caller.user.id)).map(toFactor) }, 200);
    })
    .openapi(regenerate, async (c) => {
      const caller = await requireSession(c);
      return c.json(
        { recoveryCodes: await auth.factors.regenerateRecoveryCodes(caller.session, c.get("requestContext")) },
        200,
      );
    })
    .openapi(registerOptions, async (c) => {
      const caller = await requireSession(c, { allowRestricted: true });
      return c.json(await auth.passkeys.registrationOptions(caller.session), 200);
    })
    .openapi(registerVerify, async (c) => {
      const caller = await requireSession(c, { allowRestricted: true });
      const body = c.req.valid("json");
      const { factor, recoveryCodes, sessionToken } = await auth.passkeys.register(
        caller.session,
        { ceremonyId: body.ceremonyId, response: body.response as never, ...(body.label ? { label: body.label } : {}) },
        c.get("requestContext"),
      );
      return c.json(
        {
          passkey: toFactor(factor),
          recoveryCodes,
          ...(sessionToken === null ? {} : issueSessionToken(c, platform, sessionToken)),
        },
        200,
      );
    })
    .openapi(listPasskeys, async (c) => {
      const caller = await requireSession(c);
      return c.json(
        {
          data: (await auth.factors.list(platform.db, caller.user.id))
            .filter((row) => row.type === "passkey")
            .map(toFactor),
        },
        200,
      );
    })
    .openapi(renamePasskey, async (c) => {
      const caller = await requireSession(c);
      return c.json(
        toFactor(await auth.passkeys.rename(caller.user.id, c.req.valid("param").passkeyId, c.req.valid("json").label)),
        200,
      );
    })
    .openapi(deletePasskey, async (c) => {
      const caller = await requireSession(c);
      await auth.factors.remove(caller.session, c.req.valid("param").passkeyId, c.get("requestContext"));
      return c.body(null, 204);
    })
    .openapi(signInOptions, async (c) => c.json(await auth.passkeys.signInOptions(), 200))
    .openapi(signInVerify, async (c) => {
      const body = c.req.valid("json");
      const signedIn = await auth.signInWithPasskey(
        { ceremonyId: body.ceremonyId, response: body.response as never },
        c.get("requestContext"),
      );
      return c.json(signedInResponse(c, platform, signedIn), 200);
    })
    .openapi(mfaPasskeyOptions, async (c) => {
      const challenge = await auth.challenges.find(c.req.valid("json").mfaToken);
      return c.json(await auth.passkeys.optionsForUser(challenge.userId, "second_factor", challenge.id), 200);
    })
    .openapi(reauthPasskeyOptions, async (c) => {
      const caller = await requireSession(c);
      return c.json(await auth.passkeys.optionsForUser(caller.user.id, "reauthentication"), 200);
    })
    .openapi(verify, async (c) => {
      const body = c.req.valid("json");
      const result = await auth.challenges.verify(
        body.method === "passkey"
          ? {
              mfaToken: body.mfaToken,
              method: "passkey",
              assertion: { ceremonyId: body.assertion.ceremonyId, response: body.assertion.response as never },
            }
          : body,
        c.get("requestContext"),
      );
      if (result.result === "tokens")
        return c.json(
          await auth.accessTokens.tokensForSession(result, "password", c.get("requestContext"), result.orgId),
          200,
        );
      return c.json({ ...signedInResponse(c, platform, result), redirectTo: result.redirectTo }, 200);
    });
}
