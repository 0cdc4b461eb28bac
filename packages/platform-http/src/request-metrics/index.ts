import type { MiddlewareHandler } from "hono";
import { routeTemplate } from "../request-log/index.ts";

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
      observe(routeTemplate(c), c.req.method, c.res.status, (performance.now() - started) / 1000);
    }
  };
}
