import type { Context, MiddlewareHandler } from "hono";

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

/** `default`: a value the route set for itself stands; `always`: set on every answer. */
export type SecurityHeader = readonly [name: string, value: string, mode: "default" | "always"];

function buildList(api: boolean, production: boolean): readonly SecurityHeader[] {
  return [
    ["X-Content-Type-Options", "nosniff", "always"],
    // A page with forms sets `same-origin` for itself (under no-referrer, Chromium posts its forms
    // with `Origin: null`, which the CSRF check must refuse); everything else sends no referrer.
    ["Referrer-Policy", "no-referrer", "default"],
    // A page made to be framed by its own origin (the admin console's email preview) says so itself.
    ["X-Frame-Options", "DENY", "default"],
    ["Cross-Origin-Opener-Policy", "same-origin", "always"],
    ["Cross-Origin-Resource-Policy", "same-origin", "always"],
    ["Content-Security-Policy", CONTENT_SECURITY_POLICIES.api, "default"],
    ...(production ? [["Strict-Transport-Security", "max-age=63072000; includeSubDomains", "always"] as const] : []),
    // Auth and account answers carry tokens and personal data: never cache them.
    ...(api ? [["Cache-Control", "no-store", "always"] as const] : []),
  ];
}
const LISTS = [buildList(false, false), buildList(false, true), buildList(true, false), buildList(true, true)];

/** The headers every response carries, in the order they are set (`api`: under /v1); built once. */
export function securityHeaderList(api: boolean, production: boolean): readonly SecurityHeader[] {
  return LISTS[(api ? 2 : 0) + (production ? 1 : 0)]!;
}

/**
 * The response's own headers, to set on in place. `c.header()` after the response is made copies the
 * whole Response on every call (in case its headers are immutable); they are copied once, only when
 * they are immutable (a Response from `fetch()`). The probe is `X-Content-Type-Options: nosniff`,
 * which every response carries anyway.
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

/** Sets the list on the route's response: what the route set for itself (its page's CSP, say) stands. */
export function applySecurityHeaders(headers: Headers, api: boolean, production: boolean): void {
  for (const [name, value, mode] of securityHeaderList(api, production)) {
    if (mode === "default" && headers.has(name)) continue;
    headers.set(name, value);
  }
}

/**
 * Headers every response carries (the admin console's; the API's edge middleware applies the same
 * list). The Content-Security-Policy and Referrer-Policy a route set for itself stand (the hosted
 * pages, the mailbox and /docs each set theirs from CONTENT_SECURITY_POLICIES); any other response
 * gets the API's, which allow nothing.
 */
export const securityHeaders = (options: { production: boolean }): MiddlewareHandler =>
  async function securityHeaders(c, next) {
    await next();
    applySecurityHeaders(responseHeaders(c), c.req.path.startsWith("/v1/"), options.production);
  };
