import type { SignedIn, SignInOutcome } from "@burrow/platform-auth";
import type { Context } from "hono";
import { type Platform } from "../compose/platform.ts";
import { writeSessionCookie } from "../cookies.ts";
import { type AppEnv } from "../env.ts";

/** The header a client sends to be given session tokens in bodies (native apps, servers, tests). */
export const BEARER_CLIENT_HEADER = "x-burrow-client";

/**
 * Does this client use the session token itself? It asked (`X-Burrow-Client: bearer`), or it already
 * authenticates by header. A browser gets the HttpOnly cookie only: a token in a JSON body is
 * readable by any script on the page, which is what HttpOnly is there to prevent.
 */
export function wantsSessionToken(c: Context<AppEnv>): boolean {
  return (
    c.req.header(BEARER_CLIENT_HEADER)?.toLowerCase() === "bearer" || c.get("authentication")?.presented === "bearer"
  );
}

/** A session token given out anew (sign-in, step-up, enrolment): the cookie, and the body when asked. */
export function issueSessionToken(c: Context<AppEnv>, platform: Platform, token: string): { sessionToken?: string } {
  writeSessionCookie(c, platform.config, token);
  return wantsSessionToken(c) ? { sessionToken: token } : {};
}

/** Every way of signing in answers alike: the session cookie, and `{ user, session }` (+ `sessionToken` for bearer clients). */
export function signedInResponse(c: Context<AppEnv>, platform: Platform, result: SignedIn) {
  return {
    user: result.user,
    session: platform.auth.sessions.toPublic(result.session, result.session.id),
    ...issueSessionToken(c, platform, result.token),
  };
}

/** A first factor's answer: signed in, or `{ mfaRequired, mfaToken, methods }` and no cookie. */
export function outcomeResponse(c: Context<AppEnv>, platform: Platform, outcome: SignInOutcome) {
  if (outcome.kind === "mfa_required")
    return { mfaRequired: true as const, mfaToken: outcome.mfaToken, methods: outcome.methods };
  return { ...signedInResponse(c, platform, outcome), redirectTo: outcome.redirectTo };
}
