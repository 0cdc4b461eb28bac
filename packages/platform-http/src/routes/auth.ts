import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { SessionId } from "@burrow/platform-core";
import type { TypedResponse } from "hono";
import type { JSONParsed } from "hono/utils/types";
import { requireCaller, requireSession } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { clearSessionCookie } from "../cookies.ts";
import { type AppEnv } from "../env.ts";
import { outcomeResponse, signedInResponse } from "./signed-in.ts";
import {
  Email,
  jsonBody,
  jsonContent,
  PasswordInput,
  problems,
  Session,
  SessionIdParam,
  SignedIn,
  SignInAnswer,
  User,
  signedIn,
} from "../schemas.ts";

const tags = ["Accounts and sessions"];

const CurrentSessionAnswer = z.object({ user: User, session: Session });

const signUp = createRoute({
  operationId: "signUp",
  security: [],
  method: "post",
  path: "/v1/auth/sign-up",
  tags,
  summary: "Create an account with email and password",
  description:
    "While email verification is required (the default) the answer is 202 whether or not the address already has an account; the owner is told instead. With verification off, a new account is signed in (201) and a taken address answers 409 `email_taken`.",
  request: {
    body: jsonBody(
      z.object({ email: Email, password: PasswordInput, name: z.string().trim().min(1).max(200).optional() }).strict(),
    ),
  },
  responses: {
    201: jsonContent(SignedIn, "Signed up and signed in (verification off)"),
    202: jsonContent(z.object({ verificationRequired: z.literal(true) }), "Check your email"),
    ...problems(400, 409, 415, 422, 429),
  },
});

const signIn = createRoute({
  operationId: "signIn",
  security: [],
  method: "post",
  path: "/v1/auth/sign-in",
  tags,
  summary: "Sign in with email and password",
  description:
    "An unknown email and a wrong password get the same answer, in the same time. Five failures in a row lock the address for 15 minutes (doubling on each repeated lock).",
  request: { body: jsonBody(z.object({ email: Email, password: PasswordInput }).strict()) },
  responses: {
    200: jsonContent(SignInAnswer, "Signed in (the session cookie is set), or a second factor is required"),
    ...problems(400, 401, 403, 415, 429),
  },
});

const signOut = createRoute({
  operationId: "signOut",
  security: signedIn,
  method: "post",
  path: "/v1/auth/sign-out",
  tags,
  summary: "End the current session",
  responses: { 204: { description: "Signed out; the cookie is cleared" }, ...problems(401, 403) },
});

const currentSession = createRoute({
  operationId: "getSession",
  security: signedIn,
  method: "get",
  path: "/v1/auth/session",
  tags,
  summary: "The caller's user and session",
  responses: { 200: jsonContent(CurrentSessionAnswer, "Signed in"), ...problems(401) },
});

const listSessions = createRoute({
  operationId: "listSessions",
  security: signedIn,
  method: "get",
  path: "/v1/auth/sessions",
  tags,
  summary: "The caller's active sessions, the current one marked",
  responses: {
    200: jsonContent(z.object({ data: z.array(Session) }), "Active sessions, most recently used first"),
    ...problems(401),
  },
});

const revokeSession = createRoute({
  operationId: "revokeSession",
  security: signedIn,
  method: "delete",
  path: "/v1/auth/sessions/{sessionId}",
  tags,
  summary: "Revoke one of the caller's sessions",
  request: { params: SessionIdParam },
  responses: { 204: { description: "Revoked" }, ...problems(400, 401, 403, 404) },
});

const revokeOthers = createRoute({
  operationId: "revokeOtherSessions",
  security: signedIn,
  method: "post",
  path: "/v1/auth/sessions/revoke-others",
  tags,
  summary: "Revoke every session but the current one",
  responses: {
    200: jsonContent(z.object({ revoked: z.number().int() }), "How many were revoked"),
    ...problems(401, 403),
  },
});

const changePassword = createRoute({
  operationId: "changePassword",
  security: signedIn,
  method: "post",
  path: "/v1/auth/password/change",
  tags,
  summary: "Change the password (recent re-authentication required; every other session is revoked)",
  request: { body: jsonBody(z.object({ currentPassword: PasswordInput, newPassword: PasswordInput }).strict()) },
  responses: { 204: { description: "Changed" }, ...problems(400, 401, 403, 415, 422, 429) },
});

export function authRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { auth, config } = platform;

  return new OpenAPIHono<AppEnv>()
    .openapi(signUp, async (c) => {
      const result = await auth.signUp(c.req.valid("json"), c.get("requestContext"));
      if (result.kind === "verification_required") return c.json({ verificationRequired: true as const }, 202);
      return c.json(signedInResponse(c, platform, result), 201);
    })
    .openapi(signIn, async (c) => {
      const outcome = await auth.signIn(c.req.valid("json"), c.get("requestContext"));
      return c.json(outcomeResponse(c, platform, outcome), 200);
    })
    .openapi(signOut, async (c) => {
      // Ending the session it belongs to is the one change an access token may make.
      const caller = await requireCaller(c, { allowRestricted: true });
      await auth.signOut(caller.session, c.get("requestContext"));
      clearSessionCookie(c, config);
      return c.body(null, 204);
    })
    .openapi(currentSession, async (c) => {
      // Reading who the session is stays open to its access tokens.
      const caller = await requireCaller(c, { allowRestricted: true });
      // The same bytes c.json() would send, from the serialized answer held for this session.
      return c.body(auth.sessions.answerJson(caller), 200, {
        "Content-Type": "application/json",
      }) as unknown as TypedResponse<JSONParsed<z.infer<typeof CurrentSessionAnswer>>, 200, "json">;
    })
    .openapi(listSessions, async (c) => {
      const caller = await requireSession(c);
      const rows = await auth.sessions.list(platform.db, caller.user.id);
      return c.json({ data: rows.map((row) => auth.sessions.toPublic(row, caller.session.id)) }, 200);
    })
    .openapi(revokeSession, async (c) => {
      const caller = await requireSession(c);
      const { sessionId } = c.req.valid("param");
      await auth.sessions.revokeOwn(caller.session, sessionId as SessionId, c.get("requestContext"));
      if (sessionId === caller.session.id) clearSessionCookie(c, config);
      return c.body(null, 204);
    })
    .openapi(revokeOthers, async (c) => {
      const caller = await requireSession(c);
      const revoked = await auth.sessions.revokeOthers(caller.session, c.get("requestContext"));
      return c.json({ revoked }, 200);
    })
    .openapi(changePassword, async (c) => {
      const caller = await requireSession(c);
      await auth.changePassword(caller.session, c.req.valid("json"), c.get("requestContext"));
      return c.body(null, 204);
    });
}
