import type { MiddlewareHandler } from "hono";
import { responseHeaders } from "../cors/index.ts";

/**
 * The Content-Security-Policy of each kind of response, in one place. A route that renders HTML sets
 * its own kind's policy; everything else (JSON, problems) gets `api`, which forbids everything.
 */
export const CONTENT_SECURITY_POLICIES = {
  // base-uri does not fall back to default-src, so it is named (ASVS V3.4.3: object-src and base-uri 'none').
  api: "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
  /** The /auth/* pages: one self-contained document with inline styles that posts forms to itself. */
  hostedPage:
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  /** The development mailbox shows messages as sent: inline styles, data: and remote images (never scripts). */
  devMailbox:
    "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
  /** /docs: Swagger UI served from our own origin (pinned swagger-ui-dist), calling only our own API. */
  docs: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
} as const;

/**
 * Headers every response carries. The Content-Security-Policy and Referrer-Policy a route set for
 * itself stand (the hosted pages, the mailbox and /docs each set theirs from CONTENT_SECURITY_POLICIES);
 * any other response gets the API's, which allow nothing.
 */
export const securityHeaders = (options: { production: boolean }): MiddlewareHandler =>
  async function securityHeaders(c, next) {
    await next();
    // Set on the response's own headers, copied once only if they are immutable (see responseHeaders).
    const headers = responseHeaders(c);
    // A page with forms sets `same-origin` for itself (under no-referrer, Chromium posts its forms
    // with `Origin: null`, which the CSRF check must refuse); everything else sends no referrer.
    if (!headers.has("Referrer-Policy")) headers.set("Referrer-Policy", "no-referrer");
    // A page made to be framed by its own origin (the admin console's email preview) says so itself.
    if (!headers.has("X-Frame-Options")) headers.set("X-Frame-Options", "DENY");
    headers.set("Cross-Origin-Opener-Policy", "same-origin");
    headers.set("Cross-Origin-Resource-Policy", "same-origin");
    if (!headers.has("Content-Security-Policy")) headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICIES.api);
    if (options.production) headers.set("Strict-Transport-Security", "max-age=63072000; includeSubDomains");
    // Auth and account answers carry tokens and personal data: never cache them.
    if (c.req.path.startsWith("/v1/")) headers.set("Cache-Control", "no-store");
  };
