import type { SignedIn, SignInOutcome } from "@burrow/platform-auth";
import type { Context } from "hono";
import { writeSessionCookie } from "../cookies.ts";
import type { AppEnv } from "../env.ts";
import type { Platform } from "../platform.ts";

/** Every way of signing in answers alike: the session cookie, and `{ user, session, sessionToken }`. */
export function signedInResponse(c: Context<AppEnv>, platform: Platform, result: SignedIn) {
  writeSessionCookie(c, platform.config, result.token);
  return { user: result.user, session: platform.auth.sessions.toPublic(result.session, result.session.id), sessionToken: result.token };
}

/** A first factor's answer: signed in, or `{ mfaRequired, mfaToken, methods }` and no cookie. */
export function outcomeResponse(c: Context<AppEnv>, platform: Platform, outcome: SignInOutcome) {
  if (outcome.kind === "mfa_required") return { mfaRequired: true as const, mfaToken: outcome.mfaToken, methods: outcome.methods };
  return { ...signedInResponse(c, platform, outcome), redirectTo: outcome.redirectTo };
}
