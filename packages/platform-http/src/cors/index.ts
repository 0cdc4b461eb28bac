import type { Context, MiddlewareHandler } from "hono";

/** The methods a preflight allows (those the API uses). */
const ALLOWED_METHODS = "GET,HEAD,PUT,POST,DELETE,PATCH";

/**
 * The response's own headers, to set on in place. `c.header()` after the response is made copies the
 * whole Response on every call (in case its headers are immutable); they are copied once, only when
 * they are immutable (a Response from `fetch()`). The probe is `X-Content-Type-Options: nosniff`,
 * which every response carries anyway (securityHeaders).
 */
export function responseHeaders(c: Context): Headers {
  try {
    c.res.headers.set("X-Content-Type-Options", "nosniff");
  } catch {
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set("X-Content-Type-Options", "nosniff");
  }
  return c.res.headers;
}

/**
 * CORS for the allowed origins, with credentials. Hono's `cors()` did the same but touched `c.res`
 * before the route ran and `c.header()` after, building three Responses per request; this sets the
 * headers once, on the route's own response (the hot path: every session check crosses it).
 */
export const cors = (options: {
  origins: readonly string[];
  maxAgeSeconds: number;
  exposeHeaders: readonly string[];
}): MiddlewareHandler => {
  const expose = options.exposeHeaders.join(",");
  const maxAge = String(options.maxAgeSeconds);
  return async function cors(c, next) {
    const origin = c.req.header("origin");
    const allowed = origin !== undefined && options.origins.includes(origin) ? origin : undefined;
    if (c.req.method === "OPTIONS") {
      if (allowed !== undefined) c.header("Access-Control-Allow-Origin", allowed);
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
    }
    await next();
    const headers = responseHeaders(c);
    if (allowed !== undefined) headers.set("Access-Control-Allow-Origin", allowed);
    headers.set("Access-Control-Allow-Credentials", "true");
    headers.set("Access-Control-Expose-Headers", expose);
    headers.append("Vary", "Origin");
  };
};
