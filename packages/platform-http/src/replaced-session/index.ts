import { parseSessionToken, type Sessions } from "@burrow/platform-auth";
import type { Config, Database } from "@burrow/platform-core";
import type { MiddlewareHandler } from "hono";
import { sessionCookie } from "../cookies.ts";
import type { AppEnv } from "../env.ts";

/**
 * ASVS V7.2.4: signing in ends the session the client held before. Every way of signing in hands
 * the new session over in the session cookie, so this looks once, after the route: when the answer
 * sets that cookie to another session than the one the request authenticated with (its cookie or
 * session token — never an access token, which is only the session's delegate), that one ends. The
 * browser could not use it again anyway, and a session planted before sign-in must not live on.
 * A step-up renews the same session, and a sign-out clears the cookie: neither ends anything here.
 */
export const replacedSession = (options: {
  config: Config;
  db: Database;
  sessions: Pick<Sessions, "endReplaced">;
}): MiddlewareHandler<AppEnv> =>
  async function replacedSession(c, next) {
    await next();
    const authentication = c.get("authentication");
    if (authentication === undefined || authentication.presented === null) return;
    const prefix = `${sessionCookie(options.config).name}=`;
    const issued = c.res.headers
      .getSetCookie()
      .find((line) => line.startsWith(prefix))
      ?.slice(prefix.length)
      .split(";")[0];
    const issuedSession = issued === undefined ? undefined : parseSessionToken(decodeURIComponent(issued));
    if (issuedSession === undefined) return;
    // Validated only now, and only on answers that issue a session: sign-ins are rare, requests not.
    const caller = await authentication.caller();
    if (caller?.kind !== "session" || caller.via === "access_token") return;
    await options.sessions.endReplaced(options.db, caller.session, issuedSession.id);
  };
