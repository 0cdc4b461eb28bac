// `bun run bench`: the benchmark suite (issue 17). It creates fresh PostgreSQL databases, seeds
// 100,000 users with a session each, starts real server processes and loads them with wrk over
// loopback: raw Hono returning a constant (the baseline, same load, same run, and again right before
// and right after each row read as a ratio to it), Burrow's API in each scenario, and Better Auth's
// get-session (the peer). It prints one markdown table with each row's bound and ✓/✗. Method, machine and figures: docs/benchmarks.md. Settings (environment):
//   BENCH_DURATION=10        seconds per wrk scenario (each after a BENCH_WARMUP=2 s warm-up)
//   BENCH_CONNECTIONS=64     connections for the throughput scenarios; BENCH_THREADS=2 wrk threads
//   BENCH_USERS=100000       seeded users and sessions (PostgreSQL); BENCH_PGLITE_USERS for PGlite
//   BENCH_POSTGRES_URL       a PostgreSQL URL allowed to create databases
//                            (default postgres://postgres@127.0.0.1:5432/postgres)
//   BENCH_TRIALS=100         revocation trials; BENCH_PEER_USERS=100 Better Auth users
//   --quick                  a short run that checks the suite works (2,000 users, 2 s scenarios)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { SQL, type Subprocess } from "bun";
import { createDatabase } from "@burrow/platform-core";
import { createTestMailServer } from "@burrow/platform-email/testing";
import { argon2Saturated, argon2Sequential, permissionCheck, templateRender } from "./micro.ts";
import { residentKiB, waitFor } from "./memory.ts";
import { BENCH_PASSWORD, seedSessions, sessionId, sessionToken } from "./seed.ts";

const root = resolve(import.meta.dir, "..");
const quick = process.argv.includes("--quick");
const setting = (name: string, normal: number, short: number) => Number(process.env[name] ?? (quick ? short : normal));
const DURATION = setting("BENCH_DURATION", 10, 2);
const WARMUP = setting("BENCH_WARMUP", 2, 1);
const CONNECTIONS = setting("BENCH_CONNECTIONS", 64, 64);
const THREADS = setting("BENCH_THREADS", 2, 2);
const USERS = setting("BENCH_USERS", 100_000, 2_000);
const PGLITE_USERS = setting("BENCH_PGLITE_USERS", USERS, 2_000);
const TRIALS = setting("BENCH_TRIALS", 100, 10);
const PEER_USERS = setting("BENCH_PEER_USERS", 100, 10);
/** How long the API idles after start before its idle memory is read (as `bun run bench:memory`). */
const IDLE_MS = setting("BENCH_IDLE_MS", 10_000, 1_000);
const ACCESS_TOKENS = Math.min(1_000, USERS);
const SIGN_IN_IN_FLIGHT = 500;
/** Refresh chains: the warm-up uses the first half, the measured run the second (a rotated token used again would revoke its family). */
const REFRESH_CHAINS = Math.min(8_192, USERS - (USERS % (2 * THREADS)));
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const wrkDir = join(import.meta.dir, "wrk");
const scratch = mkdtempSync(join(tmpdir(), "burrow-bench-"));

const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

// ---------------------------------------------------------------------------------------------
// Processes and databases: everything started is stopped, every database made is dropped.

const children = new Set<Subprocess>();
const databases: string[] = [];
/** What the servers logged at level error, read from each one's stderr once it has stopped. */
const serverErrors: string[] = [];

interface Server {
  name: string;
  url: string;
  process: Subprocess;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  await probe.stop(true);
  return port;
}

async function start(
  name: string,
  command: string[],
  env: Record<string, string>,
  readyPath: string,
  port: number,
): Promise<Server> {
  const stderrFile = join(scratch, `${name.replaceAll(/\W+/g, "-")}-${port}.log`);
  const { DATABASE_URL: _onlyWhenGiven, ...inherited } = process.env;
  const child = Bun.spawn(command, {
    cwd: root,
    env: { ...inherited, ...env, PORT: String(port) },
    stdout: "ignore",
    stderr: Bun.file(stderrFile),
  });
  children.add(child);
  const url = `http://127.0.0.1:${port}`;
  const died = child.exited.then(async (code) => {
    const stderr = (await Bun.file(stderrFile).text()).slice(-4_000);
    throw new Error(`${name} exited (${code}) before it was ready; its stderr:\n${stderr}`);
  });
  await Promise.race([waitFor(`${url}${readyPath}`), died]);
  died.catch(() => {});
  return {
    name,
    url,
    process: child,
    async stop() {
      child.kill("SIGTERM");
      const stopped = await Promise.race([child.exited, Bun.sleep(10_000).then(() => undefined)]);
      if (stopped === undefined) child.kill("SIGKILL");
      await child.exited;
      children.delete(child);
      // A load that makes a server fail shows in the table, not only in a log nobody reads (Burrow
      // logs JSON lines; an error is a 500 or worse).
      const errors = (await Bun.file(stderrFile).text()).split("\n").filter((line) => line.includes('"level":"error"'));
      if (errors.length > 0) {
        const first = errors[0]!.slice(0, 300);
        serverErrors.push(`${name}: ${errors.length} (the first: ${first})`);
        log(`${name} logged ${errors.length} errors; the first: ${first}`);
      }
    },
  };
}

/**
 * Production requires SMTP: the API mails a real SMTP server in this process (a sign-in from a new
 * device sends a notice). What it receives is dropped every second; only delivery is wanted.
 */
const mail = createTestMailServer();

const apiEnv = {
  NODE_ENV: "production",
  HOST: "127.0.0.1",
  ADMIN_PORT: "off",
  BURROW_SECRET: "bench-secret-".padEnd(48, "x"),
  BURROW_ENCRYPTION_KEYS: `v1:${Buffer.alloc(32, 7).toString("base64")}`,
  // Load comes from one address, and sign-ups need no mailbox: neither is what is measured.
  BURROW_IP_RATE_LIMIT: "off",
  BURROW_EMAIL_VERIFICATION: "off",
};

/** Burrow's API (`apps/api/src/server.ts`, as `bun start` runs it) on PostgreSQL, or PGlite in `dataDir`. */
async function startApi(
  name: string,
  target: { databaseUrl: string } | { dataDir: string },
  cache: "on" | "off",
): Promise<Server> {
  const port = await freePort();
  return start(
    name,
    [process.execPath, "run", join(root, "apps/api/src/server.ts")],
    {
      ...apiEnv,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      SMTP_URL: mail.url(),
      BURROW_SESSION_CACHE: cache,
      ...("databaseUrl" in target ? { DATABASE_URL: target.databaseUrl } : { BURROW_DATA_DIR: target.dataDir }),
    },
    "/readyz",
    port,
  );
}

async function createPostgresDatabase(label: string): Promise<string> {
  const name = `burrow_bench_${label}_${process.pid}_${Date.now().toString(36)}`;
  const admin = new SQL(POSTGRES_URL);
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.close();
  }
  databases.push(name);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Vacuums the database, so PostgreSQL's own upkeep of rows a step just wrote (autovacuum, which
 * would start on its own within a minute) is done before the next measurement, not during it.
 */
async function settle(databaseUrl: string): Promise<void> {
  const client = new SQL(databaseUrl);
  try {
    await client.unsafe("vacuum (analyze)");
  } finally {
    await client.close();
  }
}

async function cleanUp(): Promise<void> {
  for (const child of children) child.kill("SIGKILL");
  await Promise.all([...children].map((child) => child.exited));
  if (databases.length > 0) {
    const admin = new SQL(POSTGRES_URL);
    try {
      for (const name of databases.splice(0)) await admin.unsafe(`drop database if exists ${name} with (force)`);
    } finally {
      await admin.close();
    }
  }
  await mail.stop();
  rmSync(scratch, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// Load: wrk, with the scripts in bench/wrk (each prints its figures as one JSON line in done()).

interface Load {
  /** Successful (2xx/3xx) responses per second. */
  rps: number;
  /** Milliseconds. */
  p50: number;
  p95: number;
  p99: number;
  requests: number;
  /** Answers other than 2xx/3xx, plus socket errors and timeouts. */
  failures: number;
  /** The failures by kind, as wrk counts them: "1 read, 2 timeout"; empty when none failed. */
  failed: string;
}

async function ensureWrk(): Promise<void> {
  if (Bun.which("wrk") !== null) return;
  log("wrk is missing: apt-get install -y wrk");
  const asRoot = process.getuid?.() === 0 ? [] : ["sudo"];
  const install = Bun.spawn([...asRoot, "apt-get", "install", "-y", "wrk"], { stdout: "inherit", stderr: "inherit" });
  if ((await install.exited) !== 0 || Bun.which("wrk") === null)
    throw new Error("wrk could not be installed (apt-get install -y wrk)");
}

async function wrk(options: {
  url: string;
  script: string;
  args?: string[];
  connections?: number;
  threads?: number;
  seconds?: number;
  timeoutSeconds?: number;
}): Promise<Load> {
  const connections = options.connections ?? CONNECTIONS;
  const threads = Math.min(options.threads ?? THREADS, connections);
  const command = [
    "wrk",
    `-t${threads}`,
    `-c${connections}`,
    `-d${options.seconds ?? DURATION}s`,
    `--timeout=${options.timeoutSeconds ?? 5}s`,
    "-s",
    options.script,
    options.url,
    "--",
    ...(options.args ?? []),
  ];
  const child = Bun.spawn(command, { cwd: wrkDir, stdout: "pipe", stderr: "pipe" });
  children.add(child);
  const [output, errors, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  children.delete(child);
  const line = output.split("\n").find((entry) => entry.startsWith("BENCH_RESULT "));
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (${code}): ${errors}\n${output}`);
  const figures = JSON.parse(line.slice("BENCH_RESULT ".length)) as Record<string, number>;
  const seconds = figures.duration_us! / 1e6;
  const kinds = ["non2xx", "connect", "read", "write", "timeout"] as const;
  const failures = kinds.reduce((sum, kind) => sum + figures[kind]!, 0);
  // With no request completed wrk's percentiles read 0: shown as "—" instead.
  const ms = (us: number) => (figures.requests === 0 ? Number.NaN : us / 1000);
  return {
    rps: (figures.requests! - figures.non2xx!) / seconds,
    p50: ms(figures.p50!),
    p95: ms(figures.p95!),
    p99: ms(figures.p99!),
    requests: figures.requests!,
    failures,
    failed: kinds
      .filter((kind) => figures[kind]! > 0)
      .map((kind) => `${figures[kind]} ${kind}`)
      .join(", "),
  };
}

/** A warm-up run (discarded) and the measured run. */
async function load(name: string, options: Parameters<typeof wrk>[0], warmup = WARMUP): Promise<Load> {
  if (warmup > 0) await wrk({ ...options, seconds: warmup });
  const result = await wrk(options);
  log(
    `${name}: ${Math.round(result.rps)} req/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, ${result.failures} failures of ${result.requests}${result.failed === "" ? "" : ` (${result.failed})`}`,
  );
  return result;
}

/** Runs `task` for items 0…count-1 with `concurrency` at a time. */
async function pool(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

const megabytes = (pid: number) => (residentKiB(pid) * 1024) / 1e6;

// ---------------------------------------------------------------------------------------------
// The table.

interface Row {
  scenario: string;
  rps?: number;
  /** Milliseconds. */
  p50?: number;
  p99?: number;
  /** Shown in µs rather than ms (micro-benchmarks). */
  micro?: boolean;
  ratio?: number;
  bound: string;
  /** Undefined: no bound (a reference row). */
  pass?: boolean;
}

const rows: Row[] = [];
const fmtInt = (value: number) => Math.round(value).toLocaleString("en-US");
const fmtTime = (ms: number | undefined, micro = false) =>
  ms === undefined || Number.isNaN(ms)
    ? "—"
    : micro
      ? `${(ms * 1000).toFixed(1)} µs`
      : `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;
const fmtRatio = (ratio: number | undefined) =>
  ratio === undefined
    ? "—"
    : ratio >= 10
      ? `${ratio.toFixed(0)}×`
      : ratio >= 1
        ? `${ratio.toFixed(2)}×`
        : `${(ratio * 100).toFixed(1)}%`;
const failureNote = (result: Load) =>
  result.requests === 0
    ? "; no request completed"
    : result.failures === 0
      ? ""
      : `; ${result.failures} of ${result.requests} requests failed (${result.failed})`;
/** A run where more than 1% of requests failed measures the failures, not the scenario. */
const clean = (result: Load) => result.requests > 0 && result.failures <= result.requests * 0.01;

function printTable(): void {
  const lines = [
    "| scenario | req/s | p50 | p99 | ratio to baseline | bound | |",
    "|---|---:|---:|---:|---:|---|:-:|",
    ...rows.map(
      (row) =>
        `| ${row.scenario} | ${row.rps === undefined ? "—" : fmtInt(row.rps)} | ${fmtTime(row.p50, row.micro)} | ${fmtTime(row.p99, row.micro)} | ${fmtRatio(row.ratio)} | ${row.bound} | ${row.pass === undefined ? "" : row.pass ? "✓" : "✗"} |`,
    ),
  ];
  console.log(lines.join("\n"));
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  await ensureWrk();
  await mail.start();
  setInterval(() => mail.received.splice(0), 1_000).unref();
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "CPU"}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Bun ${Bun.version}`;
  log(
    `${machine}; ${DURATION} s per scenario after ${WARMUP} s warm-up, ${CONNECTIONS} connections, ${THREADS} wrk threads`,
  );

  // In-process references first, while nothing else of the suite is running.
  log("micro-benchmarks");
  const permission = await permissionCheck(quick ? 2_000 : 20_000);
  const render = await templateRender(quick ? 1_000 : 5_000);

  // The PostgreSQL data set.
  const databaseUrl = await createPostgresDatabase("burrow");
  {
    const seeding = performance.now();
    const database = await createDatabase({ databaseUrl });
    await database.migrate();
    await seedSessions(database.db, { users: USERS, refreshFamilies: REFRESH_CHAINS });
    await database.close();
    await settle(databaseUrl);
    log(`seeded ${fmtInt(USERS)} users and sessions in ${((performance.now() - seeding) / 1000).toFixed(1)} s`);
  }
  const sessionsArgs = [String(USERS)];

  // Baseline: raw Hono returning a constant.
  const baselinePort = await freePort();
  const baselineServer = await start(
    "baseline",
    [process.execPath, "run", join(import.meta.dir, "servers/baseline.ts")],
    {},
    "/v1/auth/session",
    baselinePort,
  );
  const loadBaseline = (name: string) =>
    load(name, { url: `${baselineServer.url}/v1/auth/session`, script: "session-cookie.lua", args: sessionsArgs });
  const baseline = await loadBaseline("baseline");
  rows.push({
    scenario: "baseline: raw Hono on Bun, constant JSON",
    rps: baseline.rps,
    p50: baseline.p50,
    p99: baseline.p99,
    ratio: 1,
    bound: `reference${failureNote(baseline)}`,
  });
  /**
   * Each ratio row is measured between two baselines of its own, one right before it and one right
   * after, and read against their mean: this VM's speed drifts by tens of percent within minutes,
   * and a row is then read against the machine as it was while it ran, whichever way it drifted.
   * The PostgreSQL upkeep a row leaves (the rows it wrote) is done before the baseline after it, so
   * that baseline is not slowed by the row's own aftermath. The baseline server idles in between
   * (no load, no CPU).
   */
  const beside = new Map<Load, { before: Load; after: Load }>();
  async function besideBaseline(name: string, measure: () => Promise<Load>, databaseUrl?: string): Promise<Load> {
    const before = await loadBaseline(`baseline before ${name}`);
    const result = await measure();
    if (databaseUrl !== undefined) await settle(databaseUrl);
    const after = await loadBaseline(`baseline after ${name}`);
    beside.set(result, { before, after });
    return result;
  }
  const baselineRps = (result: Load) => {
    const bracket = beside.get(result);
    return bracket === undefined ? baseline.rps : (bracket.before.rps + bracket.after.rps) / 2;
  };
  const ofBaseline = (result: Load) => result.rps / baselineRps(result);

  // The peer: Better Auth's get-session, on its own database on the same PostgreSQL.
  const peer = await besideBaseline("peer", measurePeer);

  // Burrow, cache on: memory idle and with every session cached, then the throughput scenarios.
  const api = await startApi("burrow-cache-on", { databaseUrl }, "on");
  await Bun.sleep(IDLE_MS);
  const idleMb = megabytes(api.process.pid);
  let sweepFailures = 0;
  await pool(USERS, 32, async (index) => {
    const response = await fetch(`${api.url}/v1/auth/session`, {
      headers: { cookie: `burrow_session=${sessionToken(index + 1)}` },
    });
    await response.arrayBuffer();
    if (response.status !== 200) sweepFailures++;
  });
  // Read as the idle figure is, after the same quiet time: the resident memory of holding the
  // sessions, not the garbage of the 100,000 requests that filled the cache, still uncollected.
  await Bun.sleep(IDLE_MS);
  const cachedMb = megabytes(api.process.pid);
  log(
    `API resident memory: ${idleMb.toFixed(1)} MB idle, ${cachedMb.toFixed(1)} MB after checking ${fmtInt(USERS)} sessions (${sweepFailures} failed)`,
  );

  const cookieOn = await besideBaseline("session check, cache on", () =>
    load("session check, cache on", {
      url: `${api.url}/v1/auth/session`,
      script: "session-cookie.lua",
      args: sessionsArgs,
    }),
  );

  const accessTokens: string[] = [];
  await pool(ACCESS_TOKENS, 8, async (index) => {
    const response = await fetch(`${api.url}/v1/auth/token`, {
      method: "POST",
      headers: { authorization: `Bearer ${sessionToken(index + 1)}`, "content-type": "application/json" },
      body: JSON.stringify({ grantType: "session" }),
    });
    if (response.status !== 200) throw new Error(`minting an access token answered ${response.status}`);
    accessTokens.push(((await response.json()) as { accessToken: string }).accessToken);
  });
  const accessFile = join(scratch, "access-tokens.txt");
  writeFileSync(accessFile, `${accessTokens.join("\n")}\n`);
  const access = await besideBaseline("access-token check", () =>
    load("access-token check", {
      url: `${api.url}/v1/auth/session`,
      script: "header-from-file.lua",
      args: [accessFile, "Authorization", "Bearer "],
    }),
  );

  const chainsPerThread = REFRESH_CHAINS / 2 / THREADS;
  const refresh = await besideBaseline(
    "refresh rotation",
    async () => {
      await wrk({
        url: `${api.url}/v1/auth/token`,
        script: "refresh.lua",
        args: [String(chainsPerThread), "0"],
        seconds: WARMUP,
      });
      return load(
        "refresh rotation",
        {
          url: `${api.url}/v1/auth/token`,
          script: "refresh.lua",
          args: [String(chainsPerThread), String(REFRESH_CHAINS / 2)],
        },
        0,
      );
    },
    databaseUrl,
  );

  // Bare verification is measured beside the sign-in rows, as the baseline is beside the others:
  // right before them with the API idle (the rotations' upkeep was done with the refresh row), and
  // right after them with the API stopped. The sign-in rows are read against the mean.
  const bareArgon2 = async (when: string) => {
    const one = await argon2Sequential(BENCH_PASSWORD, quick ? 20 : 100);
    const all = await argon2Saturated(BENCH_PASSWORD, Math.max(2, DURATION / 2));
    log(`bare Argon2id ${when}: p95 ${one.p95.toFixed(1)} ms one at a time, ${all.toFixed(1)}/s on all cores`);
    return { one, all };
  };
  const argonBefore = await bareArgon2("before the sign-in rows");
  const signInArgs = [String(USERS), BENCH_PASSWORD];
  const signInOne = await load(
    "sign-in, one client",
    { url: `${api.url}/v1/auth/sign-in`, script: "sign-in.lua", args: signInArgs, connections: 1, threads: 1 },
    Math.min(WARMUP, 1),
  );
  let signInPeakMb = megabytes(api.process.pid);
  const sampler = setInterval(() => {
    signInPeakMb = Math.max(signInPeakMb, megabytes(api.process.pid));
  }, 50);
  const signInAll = await load(
    `sign-in, ${SIGN_IN_IN_FLIGHT} in flight`,
    {
      url: `${api.url}/v1/auth/sign-in`,
      script: "sign-in.lua",
      args: signInArgs,
      connections: SIGN_IN_IN_FLIGHT,
      // Each request waits for hundreds before it: at least 10 s, so some complete even in --quick.
      seconds: Math.max(DURATION, 10),
      timeoutSeconds: 120,
    },
    0,
  );
  clearInterval(sampler);
  await api.stop();
  const argonAfter = await bareArgon2("after the sign-in rows");
  const argonOne = {
    p50: (argonBefore.one.p50 + argonAfter.one.p50) / 2,
    p95: (argonBefore.one.p95 + argonAfter.one.p95) / 2,
    p99: (argonBefore.one.p99 + argonAfter.one.p99) / 2,
  };
  const argonAll = (argonBefore.all + argonAfter.all) / 2;
  const argonNote = (of: (bare: typeof argonBefore) => number, format: (value: number) => string) =>
    `mean of ${format(of(argonBefore))} before and ${format(of(argonAfter))} after`;

  // Burrow, cache off: one query per request.
  const apiOff = await startApi("burrow-cache-off", { databaseUrl }, "off");
  const cookieOff = await besideBaseline("session check, cache off", () =>
    load("session check, cache off", {
      url: `${apiOff.url}/v1/auth/session`,
      script: "session-cookie.lua",
      args: sessionsArgs,
    }),
  );
  await apiOff.stop();

  // Revocation between two API processes on one database; the last PostgreSQL scenario, as it
  // revokes sessions (the last TRIALS seeded ones).
  const revocation = await measureRevocation(databaseUrl);

  // The embedded database: Burrow without DATABASE_URL, on a PGlite cluster seeded the same way.
  const pglite = await measurePglite((measure) => besideBaseline("session check, PGlite", measure));
  await baselineServer.stop();

  const bracketNote = (result: Load) => {
    const bracket = beside.get(result);
    return bracket === undefined
      ? ""
      : ` (baselines beside it: ${fmtInt(bracket.before.rps)} before, ${fmtInt(bracket.after.rps)} after)`;
  };
  // The table. A throughput row: the load's figures, its ratio to the baseline, the bound as worded.
  const loadRow = (scenario: string, result: Load, bound: string, pass?: boolean): Row => ({
    scenario,
    rps: result.rps,
    p50: result.p50,
    p99: result.p99,
    ratio: ofBaseline(result),
    bound: `${bound}${bracketNote(result)}${failureNote(result)}`,
    ...(pass === undefined ? {} : { pass }),
  });
  // The peer was measured minutes before, on a machine whose speed drifts: the two are compared as
  // each compares to the baselines beside it (the raw ratio of their req/s is shown too).
  const overPeer = ofBaseline(cookieOn) / ofBaseline(peer);
  const cacheOnPass = clean(cookieOn) && ofBaseline(cookieOn) >= 0.4 && cookieOn.p99 <= 5 && overPeer >= 15;
  rows.push(
    loadRow(`peer: Better Auth get-session (default configuration, ${PEER_USERS} sessions)`, peer, `reference`),
    loadRow(
      `session check by cookie, cache on (${fmtInt(USERS)} sessions)`,
      cookieOn,
      `≥ 40% of baseline, p99 ≤ 5 ms, ≥ 15× peer (${overPeer.toFixed(1)}×; ${(cookieOn.rps / peer.rps).toFixed(1)}× in raw req/s)`,
      cacheOnPass,
    ),
    loadRow(
      "session check by cookie, cache off",
      cookieOff,
      `≥ 12% of baseline`,
      clean(cookieOff) && ofBaseline(cookieOff) >= 0.12,
    ),
    loadRow("access-token check (Bearer JWT)", access, `≥ 40% of baseline`, clean(access) && ofBaseline(access) >= 0.4),
    loadRow(
      "refresh rotation",
      refresh,
      `≥ 6% of baseline, p99 ≤ 20 ms`,
      clean(refresh) && ofBaseline(refresh) >= 0.06 && refresh.p99 <= 20,
    ),
    {
      scenario: "bare Argon2id verification (Burrow's parameters), one at a time / all cores",
      rps: argonAll,
      p50: argonOne.p50,
      p99: argonOne.p99,
      bound:
        `reference: p95 ${fmtTime(argonOne.p95)} one at a time (${argonNote((bare) => bare.one.p95, fmtTime)}), ` +
        `${argonAll.toFixed(1)}/s on all cores (${argonNote(
          (bare) => bare.all,
          (rate) => `${rate.toFixed(1)}/s`,
        )})`,
    },
    {
      scenario: "sign-in, one client",
      rps: signInOne.rps,
      p50: signInOne.p50,
      p99: signInOne.p99,
      bound: `p95 ${fmtTime(signInOne.p95)} ≤ 1.5 × bare p95 = ${fmtTime(1.5 * argonOne.p95)}${failureNote(signInOne)}`,
      pass: clean(signInOne) && signInOne.p95 <= 1.5 * argonOne.p95,
    },
    {
      scenario: `sign-in, saturated (${SIGN_IN_IN_FLIGHT} in flight)`,
      rps: signInAll.rps,
      p50: signInAll.p50,
      p99: signInAll.p99,
      bound: `≥ 85% of bare throughput (${((signInAll.rps / argonAll) * 100).toFixed(0)}%), peak RSS ${signInPeakMb.toFixed(0)} MB < 400 MB${failureNote(signInAll)}`,
      pass: clean(signInAll) && signInAll.rps >= 0.85 * argonAll && signInPeakMb < 400,
    },
    {
      scenario: `revocation on API A refused by API B (${TRIALS} trials)`,
      p50: revocation.p50,
      p99: revocation.p99,
      bound: `p99 ≤ 100 ms${revocation.failures === 0 ? "" : `; ${revocation.failures} trials never refused`}`,
      pass: revocation.failures === 0 && revocation.p99 <= 100,
    },
    loadRow(`session check by cookie, embedded PGlite (${fmtInt(PGLITE_USERS)} sessions)`, pglite, `no bound`),
    {
      scenario: "cached permission check, can() (micro-benchmark)",
      rps: permission.opsPerSecond,
      p50: permission.p50,
      p99: permission.p99,
      micro: true,
      bound: "p99 < 20 µs",
      pass: permission.p99 < 0.02,
    },
    {
      scenario: "cached template render, auth.verify_email (micro-benchmark)",
      rps: render.opsPerSecond,
      p50: render.p50,
      p99: render.p99,
      micro: true,
      bound: "p99 < 1 ms",
      pass: render.p99 < 1,
    },
    {
      scenario: "API resident memory, idle (PostgreSQL)",
      bound: `${idleMb.toFixed(1)} MB ≤ 150 MB`,
      pass: idleMb <= 150,
    },
    {
      scenario: `API resident memory, ${fmtInt(USERS)} sessions checked once`,
      bound: `${cachedMb.toFixed(1)} MB ≤ 350 MB${sweepFailures === 0 ? "" : `; ${sweepFailures} checks failed`}`,
      pass: sweepFailures === 0 && cachedMb <= 350,
    },
  );

  console.log(
    `\n${machine}. wrk ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION} s per scenario after ${WARMUP} s warm-up; ` +
      `req/s counts 2xx answers; MB = 10⁶ bytes. Suite took ${((performance.now() - started) / 60_000).toFixed(1)} min.\n`,
  );
  printTable();
  console.log(
    serverErrors.length === 0
      ? "\nErrors in the servers' logs: none."
      : `\nErrors in the servers' logs:\n${serverErrors.map((entry) => `- ${entry}`).join("\n")}`,
  );
}

async function measurePeer(): Promise<Load> {
  const databaseUrl = await createPostgresDatabase("peer");
  const env = { DATABASE_URL: databaseUrl, BETTER_AUTH_SECRET: "bench-peer-secret-".padEnd(48, "y") };
  const script = join(import.meta.dir, "servers/better-auth.ts");
  const migrate = Bun.spawn([process.execPath, "run", script, "migrate"], {
    cwd: root,
    env: { ...process.env, ...env },
    stdout: "ignore",
    stderr: "inherit",
  });
  if ((await migrate.exited) !== 0) throw new Error("Better Auth's migration failed");
  const port = await freePort();
  const server = await start("better-auth", [process.execPath, "run", script], env, "/api/auth/ok", port);
  try {
    const cookies: string[] = [];
    await pool(PEER_USERS, 4, async (index) => {
      const response = await fetch(`${server.url}/api/auth/sign-up/email`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: server.url },
        body: JSON.stringify({ email: `peer${index}@example.com`, password: BENCH_PASSWORD, name: `Peer ${index}` }),
      });
      await response.arrayBuffer();
      const cookie = response.headers
        .getSetCookie()
        .map((header) => header.split(";")[0]!)
        .find((pair) => pair.startsWith("better-auth.session_token="));
      if (response.status !== 200 || cookie === undefined)
        throw new Error(`Better Auth sign-up answered ${response.status}`);
      cookies.push(cookie);
    });
    const file = join(scratch, "peer-cookies.txt");
    writeFileSync(file, `${cookies.join("\n")}\n`);
    const check = await fetch(`${server.url}/api/auth/get-session`, { headers: { cookie: cookies[0]! } });
    const body = (await check.json()) as { session?: unknown } | null;
    if (body?.session === undefined) throw new Error("Better Auth's get-session did not find the session");
    return await load("peer: Better Auth get-session", {
      url: `${server.url}/api/auth/get-session`,
      script: "header-from-file.lua",
      args: [file, "Cookie"],
    });
  } finally {
    await server.stop();
  }
}

/** Trials: B answers the session (so B has seen it), A signs it out, B is polled until it answers 401. */
async function measureRevocation(databaseUrl: string): Promise<{ p50: number; p99: number; failures: number }> {
  const [a, b] = await Promise.all([
    startApi("burrow-a", { databaseUrl }, "on"),
    startApi("burrow-b", { databaseUrl }, "on"),
  ]);
  const latencies: number[] = [];
  let failures = 0;
  try {
    for (let trial = 0; trial < TRIALS; trial++) {
      const token = sessionToken(USERS - trial);
      const headers = { authorization: `Bearer ${token}` };
      const seen = await fetch(`${b.url}/v1/auth/session`, { headers });
      await seen.arrayBuffer();
      if (seen.status !== 200) throw new Error(`API B answered ${seen.status} for ${sessionId(USERS - trial)}`);
      const revokedAt = performance.now();
      const signOut = await fetch(`${a.url}/v1/auth/sign-out`, { method: "POST", headers });
      if (signOut.status !== 204) throw new Error(`sign-out on API A answered ${signOut.status}`);
      let refused = false;
      while (performance.now() - revokedAt < 5_000) {
        const poll = await fetch(`${b.url}/v1/auth/session`, { headers });
        await poll.arrayBuffer();
        if (poll.status === 401) {
          refused = true;
          break;
        }
      }
      if (refused) latencies.push(performance.now() - revokedAt);
      else failures++;
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  latencies.sort((x, y) => x - y);
  const at = (fraction: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * fraction))] ?? Number.NaN;
  log(`revocation: p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, ${failures} never refused`);
  return { p50: at(0.5), p99: at(0.99), failures };
}

async function measurePglite(measured: (measure: () => Promise<Load>) => Promise<Load>): Promise<Load> {
  const dataDir = join(scratch, "pglite");
  const seeding = performance.now();
  const database = await createDatabase({ dataDir });
  await database.migrate();
  await seedSessions(database.db, { users: PGLITE_USERS, refreshFamilies: 0 });
  await database.close();
  log(
    `seeded PGlite with ${fmtInt(PGLITE_USERS)} users and sessions in ${((performance.now() - seeding) / 1000).toFixed(1)} s`,
  );
  const api = await startApi("burrow-pglite", { dataDir }, "on");
  try {
    return await measured(() =>
      load("session check, PGlite", {
        url: `${api.url}/v1/auth/session`,
        script: "session-cookie.lua",
        args: [String(PGLITE_USERS)],
      }),
    );
  } finally {
    await api.stop();
  }
}

let interrupted = false;
let cleaning: Promise<void> | undefined;
/** Once, whoever asks first: a signal, or the end of the run. */
const cleanUpOnce = () => (cleaning ??= cleanUp());
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping the servers and dropping the databases`);
    void cleanUpOnce().finally(() => process.exit(130));
  });

try {
  await main();
} catch (error) {
  // After a signal the run fails on the servers it lost; that is not worth a stack trace.
  if (!interrupted) {
    console.error(error);
    process.exitCode = 1;
  }
} finally {
  await cleanUpOnce();
}
if (interrupted) process.exit(130);
