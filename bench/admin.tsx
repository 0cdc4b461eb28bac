// `bun run bench:admin`: each admin console page's p50 and p95 on the embedded database holding the
// seeded data set (bench/admin-seed.ts: 100,000 users, 1,000 organizations, 1,000,000 audit
// entries), beside a baseline measured in the same run: a Hono JSX page of 50 static rows. Requests
// go through `app.fetch` in-process. Not a test: it prints a table. The data directory is made once
// (BENCH_ADMIN_DATA, default bench/.data/admin) and reused.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { createDatabase, loadConfig, silentLogger, type UserId } from "@burrow/platform-core";
import { composePlatform } from "@burrow/platform-http";
import { createAdminApp } from "../apps/admin/src/app.tsx";
import { ADMIN_DATASET, seedAdminDataset } from "./admin-seed.ts";

const iterations = Number(process.env.BENCH_ITERATIONS ?? 60);
const dataDir = process.env.BENCH_ADMIN_DATA ?? join(import.meta.dir, ".data/admin");
const ADMIN_URL = "http://localhost:3001";

const config = loadConfig({
  NODE_ENV: "test",
  BURROW_SECRET: "b".repeat(40),
  BURROW_ENCRYPTION_KEYS: `v1:${Buffer.alloc(32, 9).toString("base64")}`,
  BURROW_IP_RATE_LIMIT: "off",
  ADMIN_URL,
  BURROW_DATA_DIR: dataDir,
});

const fresh = !existsSync(join(dataDir, "pgdata", "PG_VERSION"));
const database = await createDatabase({ dataDir });
await database.migrate();
if (fresh) {
  const started = performance.now();
  await seedAdminDataset(database.db);
  console.log(`seeded ${dataDir} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
const platform = composePlatform({ config, database, log: silentLogger });
const admin = createAdminApp(platform);

// An operator holding `*`, signed in to the console (the session is made directly: the sign-in
// pages are not what is measured here).
const { userId } = await platform.operator.createAdmin("bench-operator@example.com");
const { token } = await platform.auth.sessions.create(platform.db, {
  userId: userId as UserId,
  methods: ["password", "totp"],
  request: {},
  audience: "admin",
});
const headers = { cookie: `burrow_admin=${token}` };

const baseline = new Hono().get("/", (c) =>
  c.html(
    <html lang="en">
      <body>
        <table>
          {Array.from({ length: 50 }, (_, index) => (
            <tr>
              <td>{`user${index}@example.com`}</td>
              <td>{`User ${index}`}</td>
              <td>active</td>
            </tr>
          ))}
        </table>
      </body>
    </html>,
  ),
);

const someone = "usr_0" + (4242).toString(16).padStart(25, "0");
const pages: [string, string][] = [
  ["overview", "/"],
  ["users, first page", "/users"],
  ["users, search by email", "/users?query=user99999%40"],
  ["users, search by name (many matches)", "/users?query=Hopper"],
  ["users, suspended", "/users?status=suspended"],
  ["a user", `/users/${someone}`],
  ["audit log, newest", "/audit"],
  ["audit log, failed sign-ins", "/audit?action=user.sign_in_failed"],
  ["audit log, one user", `/audit?targetId=${someone}`],
  ["security events", "/security-events"],
  ["email templates", "/email"],
  ["email outbox", "/email/messages"],
  ["organizations, first page", "/orgs"],
  ["organizations, search", "/orgs?query=Organization%20999"],
  ["an organization", `/orgs/org_0${(42).toString(16).padStart(25, "0")}`],
  ["roles and elevations", "/roles"],
  ["webhooks", "/webhooks"],
  ["settings", "/settings"],
];

async function measure(fetch: () => Promise<Response>): Promise<{ p50: number; p95: number }> {
  for (let index = 0; index < 5; index++) await (await fetch()).text();
  const samples: number[] = [];
  for (let index = 0; index < iterations; index++) {
    const before = performance.now();
    const response = await fetch();
    await response.text();
    samples.push(performance.now() - before);
    if (response.status !== 200) throw new Error(`status ${response.status}`);
  }
  samples.sort((a, b) => a - b);
  return { p50: samples[Math.floor(iterations * 0.5)]!, p95: samples[Math.floor(iterations * 0.95)]! };
}

console.log(
  `admin console pages: ${ADMIN_DATASET.users.toLocaleString("en")} users, ${ADMIN_DATASET.organizations.toLocaleString("en")} organizations, ${ADMIN_DATASET.auditEntries.toLocaleString("en")} audit entries; ${iterations} requests each (ms)\n`,
);
console.log("| page | p50 | p95 |\n|---|---:|---:|");
const row = (name: string, result: { p50: number; p95: number }) =>
  console.log(`| ${name} | ${result.p50.toFixed(1)} | ${result.p95.toFixed(1)} |`);
row("baseline: Hono JSX page of 50 static rows", await measure(async () => baseline.request("/")));
for (const [name, path] of pages)
  row(name, await measure(async () => admin.request(`${ADMIN_URL}${path}`, { headers })));
await database.close();
