import { consumeRateLimit, PlatformError, type Clock, type Database, type RatePolicy } from "@burrow/platform-core";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A token bucket per client IP on credential-bearing routes, kept in Postgres so every node
 * enforces one limit. Reads are not counted: they carry no guess — unless `methods: "all"`, for a
 * GET that writes and reaches out (a social login's start stores a flow and asks the provider).
 */
export const ipRateLimit = (options: {
  db: Database;
  clock: Clock;
  policy: RatePolicy | undefined;
  methods?: "unsafe" | "all";
}): MiddlewareHandler<AppEnv> => {
  const limit: MiddlewareHandler<AppEnv> = async (c, next) => {
    const ip = c.get("clientIp")() ?? "unknown";
    const result = await consumeRateLimit(options.db, options.clock, `auth-ip:${ip}`, options.policy!);
    if (!result.allowed) {
      throw new PlatformError("rate_limited", {
        headers: { "Retry-After": String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))) },
      });
    }
    return next();
  };
  // A request that is not counted passes straight through, without a promise of its own.
  return function ipRateLimit(c, next) {
    if (options.policy === undefined || (options.methods !== "all" && SAFE.has(c.req.method))) return next();
    return limit(c, next);
  };
};
