import {
  isConcurrentChange,
  isDatabaseUnavailable,
  PROBLEM_CONTENT_TYPE,
  PlatformError,
  toProblem,
  type ErrorCode,
} from "@burrow/platform-core";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../env.ts";

/** Codes that mean "the credential you sent was refused" rather than "send one". */
const REFUSED_TOKEN_CODES = new Set<ErrorCode>(["invalid_token", "session_expired"]);

/**
 * Every 401 says how to authenticate (RFC 9110 §11.6.1), in RFC 6750's terms: `Bearer realm="burrow"`,
 * plus `error="invalid_token"` when a token was sent in a header and refused. Cookie and anonymous
 * callers get the bare challenge, which browsers do not act on.
 */
function bearerChallenge(c: Context<AppEnv>, code: ErrorCode): string {
  const presented = c.get("authentication")?.presented;
  const refused =
    REFUSED_TOKEN_CODES.has(code) && (presented === "bearer" || c.req.header("authorization") !== undefined);
  return refused ? 'Bearer realm="burrow", error="invalid_token"' : 'Bearer realm="burrow"';
}

/** Renders any error as an RFC 9457 problem response. */
export function problemResponse(c: Context<AppEnv>, error: unknown): Response {
  const problem = toProblem(error, c.get("requestId"));
  const headers: Record<string, string> = { "Content-Type": PROBLEM_CONTENT_TYPE };
  if (error instanceof PlatformError) Object.assign(headers, error.headers);
  if (problem.status === 401 && headers["WWW-Authenticate"] === undefined)
    headers["WWW-Authenticate"] = bearerChallenge(c, problem.code);
  return c.newResponse(JSON.stringify(problem), problem.status as 400, headers);
}

const HTTP_EXCEPTION_CODES: Record<number, ErrorCode> = {
  400: "validation_failed",
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
};

/** What a caller whose request lost a race to another is told (the API's problem, the console's page). */
export const CONCURRENT_CHANGE_DETAIL = "Another request changed the same thing at the same moment. Try again.";

/**
 * Every error leaves as problem+json. Expected ones (PlatformError, Hono's HTTPException) keep
 * their status; a database that cannot be reached is a 503 `service_unavailable` (the client may
 * retry; `/readyz` says the same); a write that lost a race its service did not answer is a 409
 * `conflict` (the client may retry), logged as an error all the same; anything else is a 500
 * carrying only the request id, with the detail logged.
 */
export const onError = (log: (message: string, fields: Record<string, unknown>) => void): ErrorHandler<AppEnv> =>
  function onError(error, c) {
    if (error instanceof PlatformError) return problemResponse(c, error);
    if (error instanceof HTTPException) {
      const code = HTTP_EXCEPTION_CODES[error.status];
      if (code !== undefined) {
        const malformed = error.status === 400 && /malformed json/i.test(error.message);
        return problemResponse(c, new PlatformError(malformed ? "malformed_json" : code));
      }
    }
    if (isDatabaseUnavailable(error)) {
      log("database unavailable", { requestId: c.get("requestId"), method: c.req.method, path: c.req.path });
      return problemResponse(
        c,
        new PlatformError("service_unavailable", {
          detail: "The database cannot be reached. Try again shortly.",
          headers: { "Retry-After": "5" },
        }),
      );
    }
    if (isConcurrentChange(error)) {
      log("concurrent change not answered by its service", {
        requestId: c.get("requestId"),
        method: c.req.method,
        path: c.req.path,
        error: describeError(error),
      });
      return problemResponse(c, new PlatformError("conflict", { detail: CONCURRENT_CHANGE_DETAIL }));
    }
    log("unhandled error", {
      requestId: c.get("requestId"),
      method: c.req.method,
      path: c.req.path,
      error: describeError(error),
    });
    return problemResponse(c, new PlatformError("internal_error"));
  };

/**
 * Unknown paths answer 404; a known path asked with a method it does not serve answers 405 with
 * an `Allow` header.
 */
export const notFound = (routes: () => readonly { method: string; path: string }[]): NotFoundHandler<AppEnv> => {
  let matchers: { method: string; pattern: RegExp }[] | undefined;
  return function notFound(c) {
    matchers ??= routes()
      .filter((route) => route.method !== "ALL")
      .map((route) => ({
        method: route.method,
        pattern: new RegExp(`^${route.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\/:[^/]+/g, "/[^/]+")}$`),
      }));
    const allowed = [
      ...new Set(matchers.filter((matcher) => matcher.pattern.test(c.req.path)).map((matcher) => matcher.method)),
    ];
    if (allowed.length > 0) {
      return problemResponse(c, new PlatformError("method_not_allowed", { headers: { Allow: allowed.join(", ") } }));
    }
    return problemResponse(c, new PlatformError("not_found"));
  };
};

/**
 * What the log gets of an unexpected error. A failed query's message carries its parameters
 * (emails, names, hashes): only the statement and the driver's error code and message are kept,
 * and the message without its quoted values (PostgreSQL quotes the input it could not read).
 */
export function describeError(error: unknown): Record<string, unknown> | string {
  if (!(error instanceof Error)) return String(error);
  if (typeof (error as { query?: unknown }).query === "string" && "params" in error) {
    const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
    return {
      name: error.name,
      query: (error as unknown as { query: string }).query,
      cause:
        cause === undefined
          ? null
          : {
              code: cause.code ?? null,
              message: typeof cause.message === "string" ? redactQuoted(cause.message) : null,
            },
    };
  }
  return error.stack ?? error.message;
}

const redactQuoted = (message: string): string => message.replace(/"[^"]*"|\([^)]*\)=\([^)]*\)/g, "…");
