import type { SignedIn } from "@burrow/platform-auth";
import type { Context } from "hono";
import { writeSessionCookie } from "../cookies.ts";
import type { AppEnv } from "../env.ts";
import type { Platform } from "../platform.ts";

/** Every way of signing in answers alike: the session cookie, and `{ user, session, sessionToken }`. */
export function signedInResponse(c: Context<AppEnv>, platform: Platform, result: SignedIn) {
  writeSessionCookie(c, platform.config, result.token);
  return { user: result.user, session: platform.auth.sessions.toPublic(result.session, result.session.id), sessionToken: result.token };
}
