import type { Context } from "hono";

/** The methods a preflight allows (those the API uses). */
const ALLOWED_METHODS = "GET,HEAD,PUT,POST,DELETE,PATCH";

export interface CorsPolicy {
  /** The answer to a preflight (`OPTIONS`). */
  preflight(c: Context, origin: string | undefined): Response;
  /** On any other answer: the CORS headers, set on the route's own headers. */
  apply(headers: Headers, origin: string | undefined): void;
  /** The same headers as `apply`, pushed onto a list (an answer built without Hono). */
  list(into: [string, string][], origin: string | undefined): void;
}

/**
 * CORS for the allowed origins, with credentials. Hono's `cors()` did the same but touched `c.res`
 * before the route ran and `c.header()` after, building three Responses per request; this sets the
 * headers once, on the route's own response (the hot path: every session check crosses it). The
 * API's edge middleware applies it (../edge).
 */
export function corsPolicy(options: {
  origins: readonly string[];
  maxAgeSeconds: number;
  exposeHeaders: readonly string[];
}): CorsPolicy {
  const expose = options.exposeHeaders.join(",");
  const maxAge = String(options.maxAgeSeconds);
  const allowed = (origin: string | undefined) =>
    origin !== undefined && options.origins.includes(origin) ? origin : undefined;
  return {
    preflight(c, origin) {
      const allow = allowed(origin);
      if (allow !== undefined) c.header("Access-Control-Allow-Origin", allow);
      c.header("Access-Control-Allow-Credentials", "true");
      c.header("Access-Control-Expose-Headers", expose);
      c.header("Vary", "Origin", { append: true });
      c.header("Access-Control-Max-Age", maxAge);
      c.header("Access-Control-Allow-Methods", ALLOWED_METHODS);
      const requested = c.req.header("access-control-request-headers");
      if (requested !== undefined && requested.trim() !== "") {
        c.header(
          "Access-Control-Allow-Headers",
          requested
            .split(",")
            .map((name) => name.trim())
            .join(","),
        );
        c.header("Vary", "Access-Control-Request-Headers", { append: true });
      }
      return c.body(null, 204);
    },
    apply(headers, origin) {
      const allow = allowed(origin);
      if (allow !== undefined) headers.set("Access-Control-Allow-Origin", allow);
      headers.set("Access-Control-Allow-Credentials", "true");
      headers.set("Access-Control-Expose-Headers", expose);
      headers.append("Vary", "Origin");
    },
    list(into, origin) {
      const allow = allowed(origin);
      if (allow !== undefined) into.push(["Access-Control-Allow-Origin", allow]);
      into.push(
        ["Access-Control-Allow-Credentials", "true"],
        ["Access-Control-Expose-Headers", expose],
        ["Vary", "Origin"],
      );
    },
  };
}
