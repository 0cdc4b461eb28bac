// The suite's in-process measurements: the cached permission check and the cached template render
// (micro-benchmarks: a function called in a loop, no HTTP), and one bare Argon2id verification with
// Burrow's parameters — the reference the sign-in rows are held to.
import { availableParallelism } from "node:os";
import { createDatabase, silentLogger } from "@burrow/platform-core";
import { DEFAULT_ARGON2 } from "@burrow/platform-auth";
import { testConfig } from "@burrow/platform-auth/testing";
import { createApp, composePlatform } from "@burrow/platform-http";
import { createRenderer, DEFAULT_TEMPLATES } from "@burrow/platform-email";
import { createRbac } from "@burrow/platform-rbac";

export interface Timing {
  opsPerSecond: number;
  /** Milliseconds. */
  p50: number;
  p95: number;
  p99: number;
}

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

/** Times `iterations` sequential calls after a warm-up. */
export async function measure(iterations: number, run: () => unknown): Promise<Timing> {
  for (let index = 0; index < Math.max(10, Math.min(500, iterations / 10)); index++) await run();
  const samples = new Float64Array(iterations);
  const start = performance.now();
  for (let index = 0; index < iterations; index++) {
    const before = performance.now();
    await run();
    samples[index] = performance.now() - before;
  }
  const total = performance.now() - start;
  samples.sort();
  return {
    opsPerSecond: iterations / (total / 1000),
    p50: percentile(samples, 0.5),
    p95: percentile(samples, 0.95),
    p99: percentile(samples, 0.99),
  };
}

/**
 * The configuration of an in-process platform for a micro-benchmark: the unit tests' (fixed secrets,
 * verification off), with no rate limit in the way.
 */
export function inProcessConfig(extra: Record<string, string> = {}) {
  return testConfig({ BURROW_IP_RATE_LIMIT: "off", ...extra });
}

/** A cached `can()` (the organization's owner, permission held through the role's wildcard). */
export async function permissionCheck(iterations: number): Promise<Timing> {
  const config = inProcessConfig();
  const database = await createDatabase();
  try {
    await database.migrate();
    const platform = composePlatform({ config, database, log: silentLogger });
    const signUp = await createApp(platform).request("/v1/auth/sign-up", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "rbac-bench@example.com", password: "purple submarine garden" }),
    });
    const userId = ((await signUp.json()) as { user: { id: string } }).user.id;
    const rbac = createRbac({ db: platform.db, clock: platform.clock, audit: platform.audit });
    const org = await rbac.organizations.create(userId, { name: "Bench" }, {});
    await rbac.can(userId, "members:invite", { orgId: org.id });
    return await measure(iterations, () => rbac.can(userId, "members:invite", { orgId: org.id }));
  } finally {
    await database.close();
  }
}

/** Rendering auth.verify_email from its compiled template (HTML, text and subject). */
export async function templateRender(iterations: number): Promise<Timing> {
  const renderer = createRenderer({ productName: "Burrow", brandColor: "#4f46e5" });
  const template = DEFAULT_TEMPLATES.find((entry) => entry.key === "auth.verify_email")!;
  const compiled = await renderer.compile("bench", template);
  const url = "https://id.example.com/auth/verify-email?token=yfTrle0wlYrEOs2pPQ7kJ1RPCvTld7Y4cwftUdakrLM";
  return measure(iterations, () => renderer.render(compiled, { url }));
}

/** One bare Argon2id verification at a time, with Burrow's parameters: its latency. */
export async function argon2Sequential(password: string, iterations: number): Promise<Timing> {
  const hash = await Bun.password.hash(password, { algorithm: "argon2id", ...DEFAULT_ARGON2 });
  return measure(iterations, () => Bun.password.verify(password, hash, "argon2id"));
}

/**
 * Bare Argon2id verifications on every core: `2 × cores` kept in flight for `seconds`, as many as
 * complete per second (Bun runs them on its thread pool).
 */
export async function argon2Saturated(password: string, seconds: number): Promise<number> {
  const hash = await Bun.password.hash(password, { algorithm: "argon2id", ...DEFAULT_ARGON2 });
  const inFlight = 2 * availableParallelism();
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await Bun.password.verify(password, hash, "argon2id");
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}
