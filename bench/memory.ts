// `bun run bench:memory`: the idle resident memory of `bun start` (API, worker, embedded database)
// beside two baselines measured in the same run: a bare Bun HTTP server, and a Bun process holding
// only an open PGlite with Burrow's settings. Each process is started fresh on its own data
// directory, made ready, and read from /proc after it has been idle. Not a test: it prints a table.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const baselines: Record<string, string> = {
  bare: `Bun.serve({ port: Number(process.env.PORT), hostname: "127.0.0.1", fetch: () => new Response("ok") });`,
  // Only the options module, not the platform (which alone adds about 10 MiB). The server answers from the
  // database: an instance nothing refers to any more is garbage collected, and with it the database's
  // memory, which made this baseline read 25 MiB lower in some runs.
  pglite: `
    import { PGlite } from "@electric-sql/pglite";
    import { pgliteOptions } from "@burrow/platform-core/pglite-options";
    const db = await PGlite.create({ dataDir: process.env.PGDATA_DIR, ...(await pgliteOptions()) });
    Bun.serve({ port: Number(process.env.PORT), hostname: "127.0.0.1", fetch: async () => Response.json((await db.query("select 1 as ok")).rows[0]) });`,
};

/** A process's resident memory (VmRSS) in KiB, read from /proc. The benchmark suite reads it the same way. */
export function residentKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
}

/** Resolves once `url` answers 2xx (polled every 100 ms, up to a minute). */
export async function waitFor(url: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await Bun.sleep(100);
  }
  throw new Error(`${url} never answered`);
}

async function idleRss(kind: "burrow" | "bare" | "pglite", port: number): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), "burrow-bench-memory-"));
  try {
    let command: string[];
    let readyUrl = `http://127.0.0.1:${port}/`;
    if (kind === "burrow") {
      command = [process.execPath, "run", join(root, "apps/api/src/server.ts")];
      readyUrl = `http://127.0.0.1:${port}/readyz`;
    } else {
      const file = join(root, "bench", `.memory-${kind}.ts`);
      await Bun.write(file, baselines[kind]!);
      command = [process.execPath, "run", file];
    }
    if (kind === "pglite") {
      // The same cluster Burrow would use: made and migrated once, then opened by the baseline.
      const setup = Bun.spawn(
        [
          process.execPath,
          "run",
          join(root, "packages/platform-core/src/database/pglite-setup.ts"),
          join(dataDir, "pgdata"),
          join(root, "migrations"),
        ],
        { stdout: "ignore", stderr: "inherit" },
      );
      if ((await setup.exited) !== 0) throw new Error("pglite setup failed");
    }
    const { DATABASE_URL: _embeddedOnly, ...inherited } = process.env;
    const child = Bun.spawn(command, {
      cwd: root,
      env: {
        ...inherited,
        NODE_ENV: "development",
        PORT: String(port),
        HOST: "127.0.0.1",
        BURROW_DATA_DIR: dataDir,
        PGDATA_DIR: join(dataDir, "pgdata"),
      },
      stdout: "ignore",
      stderr: "inherit",
    });
    try {
      await waitFor(readyUrl);
      await Bun.sleep(IDLE_MS);
      return residentKiB(child.pid) / 1024;
    } finally {
      child.kill("SIGTERM");
      await child.exited;
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    for (const kind of Object.keys(baselines)) rmSync(join(root, "bench", `.memory-${kind}.ts`), { force: true });
  }
}

async function main(): Promise<void> {
  const rows: { name: string; kind: "burrow" | "bare" | "pglite" }[] = [
    { name: "baseline: bare Bun.serve", kind: "bare" },
    { name: "baseline: Bun + open PGlite (Burrow's settings)", kind: "pglite" },
    { name: "bun start (API + worker + embedded database)", kind: "burrow" },
  ];
  console.log(`idle resident memory after ${IDLE_MS / 1000} s idle, median of ${RUNS} fresh starts (MiB)\n`);
  console.log("| process | median | min | max |\n|---|---:|---:|---:|");
  let port = 39_400;
  for (const row of rows) {
    const samples: number[] = [];
    for (let run = 0; run < RUNS; run++) samples.push(await idleRss(row.kind, port++));
    samples.sort((a, b) => a - b);
    console.log(
      `| ${row.name} | ${samples[Math.floor(samples.length / 2)]!.toFixed(1)} | ${samples[0]!.toFixed(1)} | ${samples.at(-1)!.toFixed(1)} |`,
    );
  }
}

if (import.meta.main) await main();
