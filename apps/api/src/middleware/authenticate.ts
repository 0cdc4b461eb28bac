import { PlatformError } from "@burrow/platform-core";
import type { PublicUser, SessionRow, Sessions } from "@burrow/platform-auth";
import type { Config } from "@burrow/platform-core";
import type { Context, MiddlewareHandler } from "hono";
import { readSessionCookie } from "../cookies.ts";
import type { AppEnv } from "../env.ts";

export interface Caller {
  user: PublicUser;
  session: SessionRow;
  /** How the credential arrived: a cookie needs CSRF protection, a header does not. */
  via: "cookie" | "bearer";
}

/** The request's credentials, validated only when a route asks (public routes pay nothing). */
export interface Authentication {
  /** Which credential the request carries, without validating it. */
  presented: "cookie" | "bearer" | null;
  /** The caller, or undefined when no credential or an invalid one was presented. */
  caller(): Promise<Caller | undefined>;
  /** The caller, or a 401 saying why not. */
  require(): Promise<Caller>;
}

const BEARER = /^Bearer\s+(\S+)$/i;

export const authenticate = (options: { config: Config; sessions: Sessions }): MiddlewareHandler<AppEnv> =>
  async function authenticate(c, next) {
    const header = c.req.header("authorization");
    const bearer = header === undefined ? undefined : BEARER.exec(header)?.[1];
    const cookie = bearer === undefined ? readSessionCookie(c, options.config) : undefined;
    const token = bearer ?? cookie;
    const presented = bearer !== undefined ? "bearer" : cookie !== undefined ? "cookie" : null;
    let result: Promise<{ caller: Caller } | { error: PlatformError }> | undefined;

    const resolve = () => {
      result ??= (async () => {
        if (token === undefined) {
          if (header !== undefined) return { error: new PlatformError("invalid_token", { detail: "The Authorization header must be `Bearer <token>`." }) };
          return { error: new PlatformError("unauthenticated") };
        }
        const validation = await options.sessions.validate(token);
        if (validation.session === null) {
          const code = validation.reason === "malformed" || validation.reason === "unknown" ? "invalid_token" : "session_expired";
          return { error: new PlatformError(code) };
        }
        return { caller: { user: validation.user, session: validation.session, via: presented ?? "bearer" } };
      })();
      return result;
    };

    c.set("authentication", {
      presented,
      caller: async () => {
        const outcome = await resolve();
        return "caller" in outcome ? outcome.caller : undefined;
      },
      require: async () => {
        const outcome = await resolve();
        if ("error" in outcome) throw outcome.error;
        return outcome.caller;
      },
    });
    await next();
  };

/** Shorthand for routes that need a signed-in caller. */
export function requireCaller(c: Context<AppEnv>): Promise<Caller> {
  return c.get("authentication").require();
}
