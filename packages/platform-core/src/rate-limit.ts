import { sql } from "drizzle-orm";
import type { Clock } from "./clock.ts";
import { queryRows, type Database } from "./database/index.ts";
import type { RatePolicy } from "./duration.ts";

export interface RateLimitResult {
  allowed: boolean;
  /** Whole tokens left after this request. */
  remaining: number;
  /** When not allowed: how long until the next request would be. */
  retryAfterMs: number;
}

/**
 * A token bucket shared by every node: `policy.count` is the burst, and one token comes back every
 * `policy.windowMs`. One atomic upsert decides, so parallel requests on many nodes cannot overdraw.
 * A refused request still costs a token down to a floor of −1, so a client that keeps hammering
 * waits longer than one that backs off.
 */
export async function consumeRateLimit(db: Database, clock: Clock, key: string, policy: RatePolicy): Promise<RateLimitResult> {
  const now = clock.now().getTime();
  const burst = policy.count;
  const perMs = 1 / policy.windowMs;
  const [row] = await queryRows<{ tokens: number | string }>(
    db,
    sql`insert into rate_limit_buckets as bucket (key, tokens, refilled_at)
        values (${key}, ${burst - 1}, ${now})
        on conflict (key) do update set
          tokens = greatest(least(${burst}::float8, bucket.tokens + greatest(0, ${now}::bigint - bucket.refilled_at) * ${perMs}::float8) - 1, -1),
          refilled_at = greatest(bucket.refilled_at, ${now}::bigint)
        returning tokens`,
  );
  const tokens = Number(row?.tokens ?? 0);
  if (tokens >= 0) return { allowed: true, remaining: Math.floor(tokens), retryAfterMs: 0 };
  // The next request is allowed once the bucket is back at one whole token.
  return { allowed: false, remaining: 0, retryAfterMs: Math.ceil((1 - tokens) / perMs) };
}
