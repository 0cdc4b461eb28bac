// `bun run bench`: Burrow's hot paths against a baseline measured in the same run on the same
// machine. Not a test: it prints a table. Requests go through `app.fetch` in-process, so the
// numbers measure the framework, middleware and database work, not the network stack.
import { Hono } from "hono";
import { createDatabase, loadConfig, silentLogger } from "@burrow/platform-core";
import { createApp } from "@burrow/platform-http";
import { composePlatform } from "@burrow/platform-http";
import { createRenderer, DEFAULT_TEMPLATES } from "@burrow/platform-email";
import { createRbac } from "@burrow/platform-rbac";

const iterations = Number(process.env.BENCH_ITERATIONS ?? 5000);

interface Result {
  name: string;
  opsPerSecond: number;
  p50: number;
  p99: number;
}

async function measure(name: string, run: () => unknown): Promise<Result> {
  for (let index = 0; index < Math.min(500, iterations / 10); index++) await run();
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
    name,
    opsPerSecond: iterations / (total / 1000),
    p50: samples[Math.floor(iterations * 0.5)]! * 1000,
    p99: samples[Math.floor(iterations * 0.99)]! * 1000,
  };
}

async function main(): Promise<void> {
  const baseline = new Hono().get("/v1/auth/session", (c) =>
    c.json({ user: { id: "usr_x" }, session: { id: "ses_x" } }),
  );

  const config = loadConfig({
    NODE_ENV: "test",
    BURROW_SECRET: "b".repeat(40),
    BURROW_ENCRYPTION_KEYS: `v1:${Buffer.alloc(32, 9).toString("base64")}`,
    BURROW_EMAIL_VERIFICATION: "off",
    BURROW_IP_RATE_LIMIT: "off",
  });
  const targets: { label: string; databaseUrl: string | undefined }[] = [{ label: "PGlite", databaseUrl: undefined }];
  if (process.env.DATABASE_URL !== undefined)
    targets.push({ label: "PostgreSQL", databaseUrl: process.env.DATABASE_URL });

  const results: Result[] = [
    await measure("baseline: raw Hono JSON route", () => baseline.fetch(new Request("http://bench/v1/auth/session"))),
  ];
  for (const target of targets) {
    const database = await createDatabase({ databaseUrl: target.databaseUrl });
    await database.migrate();
    const platform = composePlatform({ config, database, log: silentLogger });
    const app = createApp(platform);
    const email = `bench-${crypto.randomUUID()}@example.com`;
    const signUp = await app.request("/v1/auth/sign-up", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: "purple submarine garden" }),
    });
    const { sessionToken } = (await signUp.json()) as { sessionToken: string };
    const headers = { authorization: `Bearer ${sessionToken}` };
    results.push(
      await measure(`GET /v1/auth/session, Bearer (${target.label})`, () =>
        app.fetch(new Request("http://bench/v1/auth/session", { headers })),
      ),
    );
    results.push(
      await measure(`sessions.validate() alone (${target.label})`, () => platform.auth.sessions.validate(sessionToken)),
    );
    results.push(
      await measure(`GET /healthz through the middleware (${target.label})`, () =>
        app.fetch(new Request("http://bench/healthz")),
      ),
    );
    await database.close();
  }

  printTable(`${iterations} sequential requests each, Bun ${Bun.version}`, results);

  // Email rendering: a cached template (compiled once per version) against the cheapest possible
  // rendering of the same HTML, one plain substitution.
  const renderer = createRenderer({ productName: "Burrow", brandColor: "#4f46e5" });
  const template = DEFAULT_TEMPLATES.find((entry) => entry.key === "auth.verify_email")!;
  const compiled = await renderer.compile("bench", template);
  const url = "https://id.example.com/auth/verify-email?token=yfTrle0wlYrEOs2pPQ7kJ1RPCvTld7Y4cwftUdakrLM";
  const emailResults = [
    await measure("baseline: one replaceAll over the compiled HTML", () => compiled.html.replaceAll("{{url}}", url)),
    await measure("render auth.verify_email from the cache (HTML + text + subject)", () =>
      renderer.render(compiled, { url }),
    ),
  ];
  printTable("Email rendering", emailResults);

  // Permission checks: a cached can() against a bare Set lookup of the same permission.
  const database = await createDatabase();
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
  const held = new Set(["*"]);
  printTable("Permission checks", [
    await measure("baseline: Set.has on the held permissions", async () => held.has("members:invite")),
    await measure('can(user, "members:invite", { orgId }) from the cache', () =>
      rbac.can(userId, "members:invite", { orgId: org.id }),
    ),
  ]);
  await database.close();
}

function printTable(title: string, results: Result[]): void {
  const base = results[0]!;
  console.log(`\n${title}\n`);
  console.log("| case | ops/s | p50 µs | p99 µs | × baseline time |");
  console.log("|---|---:|---:|---:|---:|");
  for (const result of results) {
    console.log(
      `| ${result.name} | ${Math.round(result.opsPerSecond)} | ${result.p50.toFixed(1)} | ${result.p99.toFixed(1)} | ${(base.opsPerSecond / result.opsPerSecond).toFixed(1)} |`,
    );
  }
}

await main();
