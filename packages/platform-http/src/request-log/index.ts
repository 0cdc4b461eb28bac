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

/**
 * One JSON line per request: request id, method, route template, status, duration and the user when
 * a route identified one. Never the path, query, headers or body: links carry tokens in their query.
 * Register after `requestContext`, so the request id is there.
 */
export function requestLog(log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const userId = c.get("authentication")?.knownUserId();
      log.info("request", {
        requestId: c.get("requestContext")?.requestId,
        method: c.req.method,
        route: routeTemplate(c),
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        ...(userId === undefined ? {} : { userId }),
      });
    }
  };
}
