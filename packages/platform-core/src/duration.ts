const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration such as `15m`, `7d`, `1s`, `24h` or `250ms` into milliseconds.
 * Returns undefined for anything else.
 */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim());
  if (match === null) return undefined;
  return Number(match[1]) * UNITS[match[2]!]!;
}

/** A count per window, such as `5/15m` (lockout) or `20/1s` (rate limit). */
export interface RatePolicy {
  count: number;
  windowMs: number;
}

/** Parses `N/duration`; returns undefined when malformed. */
export function parseRatePolicy(value: string): RatePolicy | undefined {
  const [countText, windowText] = value.split("/");
  if (countText === undefined || windowText === undefined || !/^\d+$/.test(countText.trim())) return undefined;
  const count = Number(countText);
  const windowMs = parseDuration(windowText);
  if (count < 1 || windowMs === undefined || windowMs <= 0) return undefined;
  return { count, windowMs };
}
