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
 * `policy.windowMs`. One atomic upsert refills, decides and records the decision, so parallel
 * requests on many nodes cannot overdraw. A refused request takes nothing.
 */
export async function consumeRateLimit(
  db: Database,
  clock: Clock,
  key: string,
  policy: RatePolicy,
): Promise<RateLimitResult> {
  const now = clock.now().getTime();
  const burst = policy.count;
  const perMs = 1 / policy.windowMs;
  // Every SET expression sees the row as it was, so `refilled` is the same in each.
  const refilled = sql`least(${burst}::float8, bucket.tokens + greatest(0, ${now}::bigint - bucket.refilled_at) * ${perMs}::float8)`;
  const [row] = await queryRows<{ tokens: number | string; allowed: boolean }>(
    db,
    sql`insert into rate_limit_buckets as bucket (key, tokens, refilled_at, allowed)
        values (${key}, ${burst - 1}, ${now}, true)
        on conflict (key) do update set
          tokens = case when ${refilled} >= 1 then ${refilled} - 1 else ${refilled} end,
          allowed = ${refilled} >= 1,
          refilled_at = greatest(bucket.refilled_at, ${now}::bigint)
        returning tokens, allowed`,
  );
  const tokens = Number(row?.tokens ?? 0);
  if (row?.allowed === true) return { allowed: true, remaining: Math.floor(tokens), retryAfterMs: 0 };
  // The next request is allowed once the bucket is back at one whole token.
  return { allowed: false, remaining: 0, retryAfterMs: Math.ceil((1 - tokens) / perMs) };
}
