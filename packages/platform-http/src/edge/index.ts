import type { Config, Logger } from "@burrow/platform-core";
import type { MiddlewareHandler } from "hono";
import { corsPolicy } from "../cors/index.ts";
import type { AppEnv } from "../env.ts";
import { establishRequestContext, requestIdFor } from "../request-context/index.ts";
import { logRequest, routeTemplate, type FinishedRequest } from "../request-log/index.ts";
import { applySecurityHeaders, responseHeaders, securityHeaderList } from "../security-headers/index.ts";

export type ObserveRequest = (route: string, method: string, status: number, seconds: number) => void;

/** What every API answer carries and every request leaves behind, in one place. */
export interface Edge {
  /**
   * The API's outermost middleware, one layer where there were five: the request id and context,
   * a CORS preflight's answer, then the CORS and security headers and `X-Request-Id` on whatever
   * the routes answered, the request's log line and its metrics.
   */
  middleware: MiddlewareHandler<AppEnv>;
  /** The request id to use: the caller's `X-Request-Id` when well-formed, else a new one. */
  requestId(incoming: string | null): string;
  /**
   * The headers the middleware gives a JSON answer on `path` that set none of its own, for an answer
   * made without Hono (the session check's fast lane), so both carry the same. Copied from a
   * template made once per origin: copying takes a third of the time of building them.
   */
  jsonAnswerHeaders(path: string, origin: string | null, requestId: string): Headers;
  /** The log line and the metrics of a finished request. */
  record(request: FinishedRequest & { requestId: string }): void;
}

export function createEdge(options: {
  config: Pick<Config, "trustedProxies" | "allowedOrigins" | "env" | "basePath">;
  log: Logger;
  observe: ObserveRequest;
}): Edge {
  const { config, log, observe } = options;
  const production = config.env === "production";
  // Mounted at BURROW_BASE_PATH the routes see their paths with it; served on their own (`bun start`,
  // `Burrow.fetch`) without it.
  const mountedApi = `${config.basePath}/v1/`;
  const underApi = (path: string) => path.startsWith("/v1/") || path.startsWith(mountedApi);
  const cors = corsPolicy({
    origins: config.allowedOrigins,
    maxAgeSeconds: 600,
    exposeHeaders: ["X-Request-Id", "Retry-After"],
  });

  const templates = new Map<string, Headers>();

  function record(request: FinishedRequest): void {
    const elapsedMs = logRequest(log, request);
    observe(request.route, request.method, request.status, elapsedMs / 1000);
  }

  return {
    async middleware(c, next) {
      const started = performance.now();
      const requestId = establishRequestContext(c, config.trustedProxies);
      const origin = c.req.header("origin");
      try {
        if (c.req.method === "OPTIONS") c.res = cors.preflight(c, origin);
        else await next();
      } finally {
        const headers = responseHeaders(c);
        headers.set("X-Request-Id", requestId);
        if (c.req.method !== "OPTIONS") cors.apply(headers, origin);
        applySecurityHeaders(headers, underApi(c.req.path), production);
        record({
          requestId,
          method: c.req.method,
          route: routeTemplate(c),
          status: c.res.status,
          started,
          userId: c.get("authentication")?.knownUserId(),
        });
      }
    },
    requestId: requestIdFor,
    jsonAnswerHeaders(path, origin, requestId) {
      const api = underApi(path);
      // Keyed by the origin only when it is allowed (it is then echoed); any other origin gets the same.
      const key = `${api ? "api" : ""} ${origin !== null && config.allowedOrigins.includes(origin) ? origin : ""}`;
      let template = templates.get(key);
      if (template === undefined) {
        template = new Headers([["Content-Type", "application/json"]]);
        cors.apply(template, origin ?? undefined);
        for (const [name, value] of securityHeaderList(api, production)) template.set(name, value);
        templates.set(key, template);
      }
      const headers = new Headers(template);
      headers.set("X-Request-Id", requestId);
      return headers;
    },
    record,
  };
}
