import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";

/**
 * Times every request and reports it by route template (`/v1/orgs/:orgId`, never the raw path, so
 * ids do not become label values) and status. Unknown paths report as `unmatched`.
 */
export function requestMetrics(
  observe: (route: string, method: string, status: number, seconds: number) => void,
): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const last = matchedRoutes(c).at(-1);
      // The last match is the handler; a middleware ("ALL") there means no route matched.
      const route = last === undefined || last.method === "ALL" ? "unmatched" : last.path;
      observe(route, c.req.method, c.res.status, (performance.now() - started) / 1000);
    }
  };
}
