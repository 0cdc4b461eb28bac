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
  // Not async: a read passes straight through, without a promise of its own (every request crosses it).
  function csrf(c, next) {
    if (SAFE.has(c.req.method)) return next();
    const presented = c.get("authentication").presented;
    if (presented === "bearer") return next();
    const origin = c.req.header("origin");
    const site = c.req.header("sec-fetch-site");
    // The detail says what was seen and which setting allows more: the first thing a developer whose
    // front end runs on another origin needs to know. (JSON, so the echoed header cannot become markup.)
    let refusal: string | undefined;
    if (origin !== undefined && origin !== "null") {
      if (!options.allowedOrigins.includes(origin))
        refusal = `The request's Origin, ${origin.slice(0, 200)}, is not allowed. Allowed are PUBLIC_URL's origin and those listed in BURROW_ALLOWED_ORIGINS.`;
    } else if (origin === "null") {
      refusal =
        "The request's Origin is null (a sandboxed frame, a file or a redirect across sites), which is never allowed.";
    } else if (site !== undefined) {
      if (site !== "same-origin" && site !== "none")
        refusal = `The browser marked the request ${site.slice(0, 40)} (Sec-Fetch-Site) and sent no Origin. Allowed are PUBLIC_URL's origin and those listed in BURROW_ALLOWED_ORIGINS.`;
    } else if (presented !== null) {
      refusal =
        "A request with the session cookie must say where it comes from (Origin or Sec-Fetch-Site), or authenticate with the Authorization header instead.";
    }
    if (refusal !== undefined) throw new PlatformError("csrf_rejected", { detail: refusal });
    return next();
  };
