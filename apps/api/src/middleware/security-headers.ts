import type { MiddlewareHandler } from "hono";

/**
 * Headers every response carries. The API serves JSON only, so its CSP forbids everything,
 * framing included; `/docs` (the interactive reference) loads its viewer and gets a looser policy.
 */
export const securityHeaders = (options: { production: boolean }): MiddlewareHandler =>
  async function securityHeaders(c, next) {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Frame-Options", "DENY");
    c.header("Cross-Origin-Opener-Policy", "same-origin");
    c.header("Cross-Origin-Resource-Policy", "same-origin");
    if (c.req.path === "/docs") {
      c.header("Content-Security-Policy", "default-src 'self' https://cdn.jsdelivr.net; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:; frame-ancestors 'none'");
    } else {
      c.header("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    }
    if (options.production) c.header("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
    // Auth and account answers carry tokens and personal data: never cache them.
    if (c.req.path.startsWith("/v1/")) c.header("Cache-Control", "no-store");
  };
