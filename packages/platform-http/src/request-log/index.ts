import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { Logger } from "@burrow/platform-core";
import type { AppEnv } from "../env.ts";

/** The route template a request matched (never its raw path, which can carry ids and tokens). */
export function routeTemplate(c: Parameters<MiddlewareHandler>[0]): string {
  const last = matchedRoutes(c).at(-1);
  // The last match is the handler; a middleware ("ALL") there means no route matched.
  return last === undefined || last.method === "ALL" ? "unmatched" : last.path;
}

/** What a finished request leaves in the log. */
export interface FinishedRequest {
  requestId: string | undefined;
  method: string;
  route: string;
  status: number;
  /** `performance.now()` when the request came in. */
  started: number;
  userId: string | undefined;
}

/**
 * One JSON line per request: request id, method, route template, status, duration and the user when
 * a route identified one. Never the path, query, headers or body: links carry tokens in their query.
 * Returns the duration in milliseconds.
 */
export function logRequest(log: Logger, request: FinishedRequest): number {
  const elapsed = performance.now() - request.started;
  const fields: Record<string, unknown> = {
    requestId: request.requestId,
    method: request.method,
    route: request.route,
    status: request.status,
    durationMs: Math.round(elapsed * 10) / 10,
  };
  if (request.userId !== undefined) fields.userId = request.userId;
  log.info("request", fields);
  return elapsed;
}

/** The request log as a middleware (the admin console's). Register after `requestContext`. */
export function requestLog(log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      logRequest(log, {
        requestId: c.get("requestContext")?.requestId,
        method: c.req.method,
        route: routeTemplate(c),
        status: c.res.status,
        started,
        userId: c.get("authentication")?.knownUserId(),
      });
    }
  };
}
