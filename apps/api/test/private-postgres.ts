import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where the PostgreSQL server binaries are; the fault tests that stop a server need them. */
const BIN = process.env.BURROW_TEST_PG_BIN ?? "/usr/lib/postgresql/15/bin";

/**
 * A PostgreSQL server of the test's own, on a free port, that the test may crash and start again.
 * The shared server (DATABASE_URL) is never stopped: other test files and other processes use it.
 */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  start(): Promise<void>;
  /** `pg_ctl stop -m immediate`: the server dies as in a crash, with no shutdown checkpoint. */
  crash(): Promise<void>;
  /** Crashes it (when running) and removes its files. */
  destroy(): Promise<void>;
}

/** Why a private server cannot be made here, or undefined when it can. */
export function privatePostgresMissing(): string | undefined {
  for (const binary of ["initdb", "pg_ctl", "postgres"])
    if (!existsSync(join(BIN, binary))) return `no ${binary} in ${BIN} (set BURROW_TEST_PG_BIN)`;
  return undefined;
}

/** initdb refuses to run as root: as root, the server runs as the `postgres` user, in a folder it owns. */
async function run(command: string[], asPostgres: boolean): Promise<void> {
  const child = Bun.spawn(asPostgres ? ["runuser", "-u", "postgres", "--", ...command] : command, {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, out, errors] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  if (code !== 0) throw new Error(`${command.join(" ")} exited ${code}: ${errors.trim() || out.trim()}`);
}

async function freePort(): Promise<number> {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

/**
 * Makes a cluster (initdb, trust authentication, listening on 127.0.0.1 only and on a socket in its
 * own folder) and starts it.
 * @example const pg = await startPrivatePostgres(); …; await pg.crash(); await pg.start(); await pg.destroy();
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const asPostgres = process.getuid?.() === 0;
  const folder = mkdtempSync(join(tmpdir(), "burrow-private-pg-"));
  if (asPostgres) {
    const uid = Number((await Bun.$`id -u postgres`.text()).trim());
    const gid = Number((await Bun.$`id -g postgres`.text()).trim());
    chownSync(folder, uid, gid);
  }
  const data = join(folder, "data");
  await run(
    [join(BIN, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"],
    asPostgres,
  );
  const port = await freePort();
  const options = `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1 -c max_connections=100`;
  let running = false;
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      // -w: returns once the server accepts connections (after crash recovery, when there was a crash).
      await run([join(BIN, "pg_ctl"), "start", "-w", "-D", data, "-l", join(folder, "log"), "-o", options], asPostgres);
      running = true;
    },
    async crash() {
      await run([join(BIN, "pg_ctl"), "stop", "-w", "-m", "immediate", "-D", data], asPostgres);
      running = false;
    },
    async destroy() {
      if (running) await server.crash().catch(() => {});
      rmSync(folder, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
