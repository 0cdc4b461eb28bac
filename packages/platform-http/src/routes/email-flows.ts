import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { requireSession } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";
import { issueSessionToken, outcomeResponse } from "./signed-in.ts";
import { Email, jsonBody, jsonContent, PasswordInput, problems, SignInAnswer, User, signedIn } from "../schemas.ts";

const tags = ["Email and recovery"];
const Token = z.string().min(1).max(200).openapi({ description: "The token from the emailed link." });
const Accepted = z.object({ accepted: z.literal(true) }).openapi("Accepted");
const accepted = jsonContent(Accepted, "Accepted. The same answer whether or not the address has an account.");

const route = <R extends Parameters<typeof createRoute>[0]>(definition: R) => createRoute({ tags, ...definition });

const verifyEmail = route({
  operationId: "verifyEmail",
  security: [],
  method: "post",
  path: "/v1/auth/email/verify",
  summary: "Confirm an email address with the emailed token",
  description:
    "The first confirmation of an address keeps the account's password only when `password` is given and is right (401 `invalid_credentials` otherwise, and nothing changes). Without it, whatever was set up before the address was proven — password, sessions, API keys — is removed (second factors stay) and the owner is mailed a link to choose a password: an account made with someone else's address never survives its owner's confirmation.",
  request: { body: jsonBody(z.object({ token: Token, password: PasswordInput.optional() }).strict()) },
  responses: { 200: jsonContent(z.object({ user: User }), "Verified"), ...problems(400, 401, 415) },
});
const resendVerification = route({
  operationId: "resendEmailVerification",
  security: [],
  method: "post",
  path: "/v1/auth/email/verify/resend",
  summary: "Send the verification email again (rate limited)",
  request: { body: jsonBody(z.object({ email: Email }).strict()) },
  responses: { 202: accepted, ...problems(400, 415, 429) },
});
const forgotPassword = route({
  operationId: "forgotPassword",
  security: [],
  method: "post",
  path: "/v1/auth/password/forgot",
  summary: "Email a password-reset link (valid 30 minutes)",
  request: { body: jsonBody(z.object({ email: Email }).strict()) },
  responses: { 202: accepted, ...problems(400, 415, 429) },
});
const resetPassword = route({
  operationId: "resetPassword",
  security: [],
  method: "post",
  path: "/v1/auth/password/reset",
  summary: "Set a new password with the emailed token; every session is signed out",
  request: { body: jsonBody(z.object({ token: Token, newPassword: PasswordInput }).strict()) },
  responses: { 204: { description: "Password set. Sign in with it." }, ...problems(400, 415, 422) },
});
const magicLink = route({
  operationId: "sendMagicLink",
  security: [],
  method: "post",
  path: "/v1/auth/magic-link",
  summary: "Email a sign-in link (valid 15 minutes)",
  request: { body: jsonBody(z.object({ email: Email, redirectTo: z.string().max(2048).optional() }).strict()) },
  responses: { 202: accepted, ...problems(400, 415, 429) },
});
const magicLinkVerify = route({
  operationId: "verifyMagicLink",
  security: [],
  method: "post",
  path: "/v1/auth/magic-link/verify",
  summary: "Sign in with the emailed link's token",
  request: { body: jsonBody(z.object({ token: Token }).strict()) },
  responses: { 200: jsonContent(SignInAnswer, "Signed in, or a second factor is required"), ...problems(400, 415) },
});
const emailCode = route({
  operationId: "sendEmailCode",
  security: [],
  method: "post",
  path: "/v1/auth/otp/email",
  summary: "Email a 6-digit sign-in code (valid 10 minutes, 5 tries)",
  request: { body: jsonBody(z.object({ email: Email }).strict()) },
  responses: { 202: accepted, ...problems(400, 415, 429) },
});
const emailCodeVerify = route({
  operationId: "verifyEmailCode",
  security: [],
  method: "post",
  path: "/v1/auth/otp/email/verify",
  summary: "Sign in with the emailed code",
  request: {
    body: jsonBody(z.object({ email: Email, code: z.string().regex(/^\d{6}$/, "Must be 6 digits") }).strict()),
  },
  responses: {
    200: jsonContent(SignInAnswer, "Signed in, or a second factor is required"),
    ...problems(400, 415, 429),
  },
});
const reauthenticate = route({
  operationId: "reauthenticate",
  security: signedIn,
  method: "post",
  path: "/v1/auth/reauthenticate",
  summary: "Prove it is you again before a sensitive change (counts for 10 minutes)",
  request: {
    body: jsonBody(
      z.union([
        z.object({ password: PasswordInput }).strict(),
        z.object({ totp: z.string().regex(/^\d{6}$/, "Must be 6 digits") }).strict(),
        z
          .object({
            passkey: z
              .object({ ceremonyId: z.string().max(64), response: z.looseObject({ id: z.string().max(1024) }) })
              .strict(),
          })
          .strict(),
      ]),
    ),
  },
  description:
    "The session gets a new token (the old one stops working): a new cookie, and `sessionToken` in the body for clients that authenticate by header.",
  responses: {
    200: jsonContent(
      z.object({ reauthenticated: z.literal(true), sessionToken: z.string().optional() }),
      "Recently authenticated, with a new session token",
    ),
    ...problems(400, 401, 403, 415, 429),
  },
});
const changeEmail = route({
  operationId: "requestEmailChange",
  security: signedIn,
  method: "post",
  path: "/v1/auth/email/change",
  summary: "Start changing the email address (recent re-authentication required)",
  description:
    "Mails a confirmation link to the new address and a notice to the old one. The address changes only when the link is used.",
  request: { body: jsonBody(z.object({ newEmail: Email }).strict()) },
  responses: { 202: accepted, ...problems(400, 401, 403, 415) },
});
const confirmEmailChange = route({
  operationId: "confirmEmailChange",
  security: [],
  method: "post",
  path: "/v1/auth/email/change/confirm",
  summary: "Complete an email change with the token mailed to the new address",
  request: { body: jsonBody(z.object({ token: Token }).strict()) },
  responses: { 200: jsonContent(z.object({ user: User }), "Changed"), ...problems(400, 409, 415) },
});
const accountSetup = route({
  operationId: "completeAccountSetup",
  security: [],
  method: "post",
  path: "/v1/auth/account-setup",
  summary: "Choose the first password of an account created by an administrator or an invitation",
  request: { body: jsonBody(z.object({ token: Token, password: PasswordInput }).strict()) },
  responses: { 204: { description: "Account ready. Sign in with it." }, ...problems(400, 415, 422) },
});

export function emailFlowRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const flows = platform.auth.flows;

  return new OpenAPIHono<AppEnv>()
    .openapi(verifyEmail, async (c) => {
      const { token, password } = c.req.valid("json");
      return c.json(
        { user: await flows.verifyEmail(token, c.get("requestContext"), password === undefined ? {} : { password }) },
        200,
      );
    })
    .openapi(resendVerification, async (c) => {
      await flows.request("verify_email", c.req.valid("json").email);
      return c.json({ accepted: true as const }, 202);
    })
    .openapi(forgotPassword, async (c) => {
      await flows.request("password_reset", c.req.valid("json").email);
      return c.json({ accepted: true as const }, 202);
    })
    .openapi(resetPassword, async (c) => {
      const body = c.req.valid("json");
      await flows.resetPassword(body.token, body.newPassword, c.get("requestContext"));
      return c.body(null, 204);
    })
    .openapi(magicLink, async (c) => {
      const body = c.req.valid("json");
      await flows.request(
        "magic_link",
        body.email,
        body.redirectTo === undefined ? {} : { redirectTo: body.redirectTo },
      );
      return c.json({ accepted: true as const }, 202);
    })
    .openapi(magicLinkVerify, async (c) => {
      return c.json(
        outcomeResponse(
          c,
          platform,
          await flows.signInWithMagicLink(c.req.valid("json").token, c.get("requestContext")),
        ),
        200,
      );
    })
    .openapi(emailCode, async (c) => {
      await flows.request("email_otp", c.req.valid("json").email);
      return c.json({ accepted: true as const }, 202);
    })
    .openapi(emailCodeVerify, async (c) => {
      const body = c.req.valid("json");
      return c.json(
        outcomeResponse(c, platform, await flows.signInWithEmailCode(body.email, body.code, c.get("requestContext"))),
        200,
      );
    })
    .openapi(reauthenticate, async (c) => {
      const caller = await requireSession(c);
      const { token } = await flows.reauthenticate(
        caller.session,
        c.req.valid("json") as never,
        c.get("requestContext"),
      );
      return c.json({ reauthenticated: true as const, ...issueSessionToken(c, platform, token) }, 200);
    })
    .openapi(changeEmail, async (c) => {
      const caller = await requireSession(c);
      await flows.requestEmailChange(caller.session, c.req.valid("json").newEmail, c.get("requestContext"));
      return c.json({ accepted: true as const }, 202);
    })
    .openapi(confirmEmailChange, async (c) =>
      c.json({ user: await flows.confirmEmailChange(c.req.valid("json").token, c.get("requestContext")) }, 200),
    )
    .openapi(accountSetup, async (c) => {
      const body = c.req.valid("json");
      await flows.completeAccountSetup(body.token, body.password, c.get("requestContext"));
      return c.body(null, 204);
    });
}
