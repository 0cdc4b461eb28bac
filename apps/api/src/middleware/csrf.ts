import { PlatformError } from "@burrow/platform-core";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Rejects cross-site state changes. A browser always says where a request comes from (`Origin`, and
 * `Sec-Fetch-Site` in current browsers), whatever its content type, so:
 * - an `Origin` outside the configured origins is refused — unless the request authenticates with an
 *   Authorization header, which a cross-site page cannot set without passing CORS;
 * - `Sec-Fetch-Site: cross-site` or `same-site` without an allowed `Origin` is refused;
 * - a request carrying the session cookie must show it is same-origin: with neither header it is refused.
 * Sign-in and sign-up are covered too (login CSRF).
 */
export const csrf = (options: { allowedOrigins: readonly string[] }): MiddlewareHandler<AppEnv> =>
  async function csrf(c, next) {
    if (SAFE.has(c.req.method)) return next();
    const presented = c.get("authentication").presented;
    if (presented === "bearer") return next();
    const origin = c.req.header("origin");
    const site = c.req.header("sec-fetch-site");
    let allowed: boolean;
    if (origin !== undefined && origin !== "null") allowed = options.allowedOrigins.includes(origin);
    else if (origin === "null") allowed = false;
    else if (site !== undefined) allowed = site === "same-origin" || site === "none";
    else allowed = presented === null;
    if (!allowed) throw new PlatformError("csrf_rejected");
    return next();
  };
