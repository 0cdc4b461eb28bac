import { newId } from "@burrow/platform-core";
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";

const INCOMING_ID = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * Resolves the client IP. `X-Forwarded-For` is believed only when the peer is a configured
 * trusted proxy, and then the right-most address that is not itself a trusted proxy is taken
 * (left-most entries are whatever the client chose to send).
 */
export function resolveClientIp(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trustedProxies: readonly string[],
): string | undefined {
  if (peer === undefined || forwardedFor === undefined || !trustedProxies.includes(peer)) return peer;
  const hops = forwardedFor
    .split(",")
    .map((hop) => hop.trim())
    .filter((hop) => hop.length > 0);
  for (let index = hops.length - 1; index >= 0; index--) {
    const hop = hops[index]!;
    if (!trustedProxies.includes(hop)) return hop;
  }
  return peer;
}

/** The request id to use: the caller's `X-Request-Id` when well-formed, else a new one. */
export function requestIdFor(incoming: string | null | undefined): string {
  return incoming !== undefined && incoming !== null && INCOMING_ID.test(incoming) ? incoming : newId("request");
}

/**
 * Gives the request its id and resolves who is calling from where (the context's variables);
 * returns the id. The API's edge middleware calls it, and `requestContext` below.
 */
export function establishRequestContext(c: Context<AppEnv>, trustedProxies: readonly string[]): string {
  const requestId = requestIdFor(c.req.header("x-request-id"));
  // Bun.serve hands its server as the env when an app is served as `{ fetch: app.fetch }` (a
  // builder's app), and inside `{ server }` when Burrow's own start script serves it.
  // The address is resolved when first asked for (audit, rate limits): asking Bun for the peer
  // costs more than the rest of this middleware, and a read such as GET /v1/auth/session never needs it.
  let resolved: { ip: string | undefined } | undefined;
  const clientIp = (): string | undefined => {
    if (resolved === undefined) {
      const requestIP = c.env?.server?.requestIP.bind(c.env.server) ?? c.env?.requestIP?.bind(c.env);
      const peer = c.env?.remoteAddress ?? requestIP?.(c.req.raw)?.address;
      resolved = { ip: resolveClientIp(peer, c.req.header("x-forwarded-for"), trustedProxies) };
    }
    return resolved.ip;
  };
  c.set("requestId", requestId);
  c.set("clientIp", clientIp);
  c.set("requestContext", {
    get ip() {
      return clientIp();
    },
    userAgent: c.req.header("user-agent"),
    requestId,
    signal: c.req.raw.signal,
  });
  return requestId;
}

/** Gives each request an id (echoed as `X-Request-Id`) and resolves who is calling from where. */
export const requestContext = (options: { trustedProxies: readonly string[] }): MiddlewareHandler<AppEnv> =>
  async function requestContext(c, next) {
    c.header("X-Request-Id", establishRequestContext(c, options.trustedProxies));
    await next();
  };
