import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { idSchema, isPlatformError, type PlatformError } from "@burrow/platform-core";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { requireSession } from "../authenticate/index.ts";
import { type Platform } from "../compose/platform.ts";
import { writeSessionCookie } from "../cookies.ts";
import { type AppEnv } from "../env.ts";
import { form, html, page } from "../pages/layout.ts";
import { jsonBody, jsonContent, problems, signedIn, SignInAnswer, TokenResponse } from "../schemas.ts";
import { CONTENT_SECURITY_POLICIES } from "../security-headers/index.ts";
import { outcomeResponse } from "./signed-in.ts";

const tags = ["Social login"];

const ProviderParam = z.object({
  provider: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,39}$/)
    .openapi({ param: { name: "provider", in: "path" }, example: "google" }),
});

const LinkedAccount = z
  .object({
    id: z.string(),
    provider: z.string(),
    email: z.string().nullable(),
    emailVerified: z.boolean(),
    profile: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    lastSignInAt: z.string().nullable(),
  })
  .openapi("LinkedAccount");

const start = createRoute({
  operationId: "startSocialLogin",
  security: [],
  method: "get",
  path: "/v1/auth/oauth/{provider}/start",
  tags,
  summary: "Go to the provider to sign in (or, with `link=1` and a session, to link it)",
  description:
    "Answers 302 to the provider, with a short-lived HttpOnly cookie that binds the flow to this browser. `redirectTo` must be on an allowed origin. A native or single-page app adds `codeChallenge` (the S256 challenge of its PKCE verifier): the flow then ends at `redirectTo` with a one-time `code` for `POST /v1/auth/oauth/exchange`.",
  request: {
    params: ProviderParam,
    query: z.object({
      redirectTo: z.string().max(2000).optional(),
      link: z.enum(["1"]).optional(),
      codeChallenge: z.string().max(128).optional(),
    }),
  },
  responses: { 302: { description: "To the provider" }, ...problems(400, 401, 404, 429, 503) },
});

const callback = createRoute({
  operationId: "socialLoginCallback",
  security: [],
  method: "get",
  path: "/v1/auth/oauth/{provider}/callback",
  tags,
  summary: "The provider returns here",
  description:
    "Signed in: the session cookie and 303 to the flow's `redirectTo` (or a page). A second factor: the hosted two-step page. Refused: a hosted page naming the error code, with a 4xx status.",
  request: { params: ProviderParam },
  responses: {
    200: { description: "A page: signed in, linked, or the second step" },
    303: { description: "To the flow's redirectTo" },
    400: { description: "Refused (a page naming the code)" },
    401: { description: "A link whose session ended before the callback (a page naming `session_expired`)" },
    404: { description: "The provider is gone or disabled (a page naming the code)" },
    409: { description: "Refused (a page naming the code)" },
  },
});

const exchange = createRoute({
  operationId: "exchangeSocialLoginCode",
  security: [],
  method: "post",
  path: "/v1/auth/oauth/exchange",
  tags,
  summary: "An app's one-time code and its PKCE verifier for a session, or tokens",
  description:
    'The code from `redirectTo` works once, for one minute, with the verifier whose challenge started the flow. The answer is that of every sign-in (`sessionToken` for clients sending `X-Burrow-Client: bearer`); with `"result": "tokens"` it is an access and a refresh token, as `POST /v1/auth/token` gives (after a second factor, `POST /v1/auth/mfa/verify` answers the tokens).',
  request: {
    body: jsonBody(
      z
        .object({
          code: z.string().max(200),
          codeVerifier: z.string().max(200),
          result: z.enum(["session", "tokens"]).optional(),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonContent(z.union([TokenResponse, SignInAnswer]), "Signed in (or tokens), or a second factor is required"),
    ...problems(400, 403, 415, 429),
  },
});

const listAccounts = createRoute({
  operationId: "listLinkedAccounts",
  security: signedIn,
  method: "get",
  path: "/v1/me/accounts",
  tags,
  summary: "The caller's linked provider accounts",
  responses: { 200: jsonContent(z.object({ data: z.array(LinkedAccount) }), "Linked accounts"), ...problems(401) },
});

const unlinkAccount = createRoute({
  operationId: "unlinkAccount",
  security: signedIn,
  method: "delete",
  path: "/v1/me/accounts/{accountId}",
  tags,
  summary: "Unlink a provider account (never the last way to sign in; needs a recent authentication)",
  request: {
    params: z.object({
      accountId: idSchema("oauthAccount").openapi({ param: { name: "accountId", in: "path" } }),
    }),
  },
  responses: { 204: { description: "Unlinked" }, ...problems(400, 401, 403, 404, 409) },
});

/** The cookie binding a flow to the browser that started it: this path's prefix only, 10 minutes. */
function stateCookie(platform: Platform): { name: string; secure: boolean; path: string } {
  const secure = platform.config.publicUrl.startsWith("https:");
  return {
    name: secure ? "__Secure-burrow_oauth" : "burrow_oauth",
    secure,
    path: `${platform.config.basePath}/v1/auth/oauth/`,
  };
}

export function oauthRoutes(platform: Platform): OpenAPIHono<AppEnv> {
  const { auth, config } = platform;
  const social = auth.socialLogin;

  const render = (
    c: Context<AppEnv>,
    title: string,
    body: string,
    status: 200 | 400 | 401 | 403 | 404 | 409 | 429 | 503,
  ) => {
    c.header("Content-Security-Policy", CONTENT_SECURITY_POLICIES.hostedPage);
    c.header("Referrer-Policy", "no-referrer");
    c.header("Cache-Control", "no-store");
    return c.html(
      page({ title, productName: config.email.productName, brandColor: config.email.brandColor, body }),
      status,
    );
  };
  const refusedPage = (c: Context<AppEnv>, error: PlatformError) =>
    render(
      c,
      "Sign-in failed",
      `<h1>Sign-in failed</h1><div class="error">${html(error.detail ?? error.message)}</div><p class="muted">Error code: <code>${html(error.code)}</code></p>`,
      error.status as 400,
    );

  return new OpenAPIHono<AppEnv>()
    .openapi(start, async (c) => {
      const { provider } = c.req.valid("param");
      const { redirectTo, link, codeChallenge } = c.req.valid("query");
      const session = link === "1" ? (await requireSession(c)).session : undefined;
      const started = await social.start({
        provider,
        ...(redirectTo === undefined ? {} : { redirectTo }),
        ...(session === undefined ? {} : { link: session }),
        ...(codeChallenge === undefined ? {} : { appCodeChallenge: codeChallenge }),
      });
      const cookie = stateCookie(platform);
      setCookie(c, cookie.name, started.browserSecret, {
        httpOnly: true,
        secure: cookie.secure,
        // Lax: the provider's redirect back is a top-level GET navigation, which Lax cookies go with.
        sameSite: "Lax",
        path: cookie.path,
        maxAge: 600,
      });
      return c.redirect(started.authorizationUrl, 302);
    })
    .openapi(callback, async (c) => {
      const { provider } = c.req.valid("param");
      const cookie = stateCookie(platform);
      const browserSecret = getCookie(c, cookie.name);
      // The binding goes with its state; a callback that names no state of this browser leaves it, so
      // a forged callback cannot end the flow the user is in.
      const spent = () =>
        deleteCookie(c, cookie.name, { path: cookie.path, secure: cookie.secure, httpOnly: true, sameSite: "Lax" });
      try {
        const outcome = await social.callback(
          { provider, callbackUrl: new URL(c.req.url), browserSecret },
          c.get("requestContext"),
        );
        spent();
        if (outcome.kind === "code") return c.redirect(outcome.redirectTo, 303);
        if (outcome.kind === "mfa_required") {
          // The hosted second step; the form posts to /auth/mfa (relative, so a base path is kept).
          const action = "../../../../auth/mfa";
          return render(
            c,
            "Two-step verification",
            `<h1>Two-step verification</h1><p>Enter the code from your authenticator app.</p>${form({ action, fields: `<input type="hidden" name="mfaToken" value="${html(outcome.mfaToken)}"><label for="code">Code from your authenticator app, or a recovery code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="16" required>`, submit: "Verify" })}`,
            200,
          );
        }
        if (outcome.kind === "signed_in") writeSessionCookie(c, config, outcome.token);
        if (outcome.redirectTo !== null) return c.redirect(outcome.redirectTo, 303);
        const done = outcome.kind === "linked" ? "The account is linked" : "You are signed in";
        return render(c, done, `<h1>${done}</h1><p>You can close this page and go back to the app.</p>`, 200);
      } catch (error) {
        if (!isPlatformError(error)) throw error;
        if (error.code !== "invalid_oauth_state") spent();
        return refusedPage(c, error);
      }
    })
    .openapi(exchange, async (c) => {
      const outcome = await social.exchange(c.req.valid("json"), c.get("requestContext"));
      if (outcome.kind === "tokens") return c.json(outcome.tokens, 200);
      return c.json(outcomeResponse(c, platform, outcome), 200);
    })
    .openapi(listAccounts, async (c) => {
      const caller = await requireSession(c);
      return c.json({ data: await auth.linkedAccounts.list(platform.db, caller.user.id) }, 200);
    })
    .openapi(unlinkAccount, async (c) => {
      const caller = await requireSession(c);
      await auth.linkedAccounts.unlink(caller.session, c.req.valid("param").accountId, c.get("requestContext"));
      return c.body(null, 204);
    });
}
