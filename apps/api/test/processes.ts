import type { Subprocess } from "bun";
import type { Platform } from "@burrow/platform-http";
import { TEST_ENV } from "./helpers.ts";

/** A Burrow process the test started: `bun start` (server.ts) or `burrow worker`. */
export interface BurrowProcess {
  process: Subprocess<"ignore", "pipe", "pipe">;
  /** http://host:port for a server; empty for a worker. */
  url: string;
  /** Everything it has written so far (stdout and stderr), as it arrives. */
  output(): string;
  /** Resolves once its output matches `pattern`; rejects after `timeoutMs` or when it exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

const SERVER = `${import.meta.dir}/../src/server.ts`;
const CLI = `${import.meta.dir}/../src/cli/burrow.ts`;

/** The environment a spawned process starts from: the tests', no admin console, a port of its own. */
export const PROCESS_ENV = { ...TEST_ENV, PORT: "0", ADMIN_PORT: "off", LOG_LEVEL: "info" };

const running = new Set<Subprocess>();

/** Kills (SIGKILL) every process these helpers started that is still running: a failed test's leftovers. */
export async function killLeftovers(): Promise<void> {
  for (const child of running) child.kill("SIGKILL");
  await Promise.all([...running].map((child) => child.exited));
}

function spawnBurrow(command: string[], env: Record<string, string>): Omit<BurrowProcess, "url"> {
  const child = Bun.spawn(["bun", "run", ...command], {
    env: { ...process.env, ...PROCESS_ENV, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(child);
  void child.exited.then(() => running.delete(child));
  let text = "";
  const waiters = new Set<() => void>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
      for (const waiter of waiters) waiter();
    }
  };
  const drained = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let exited = false;
  void child.exited.then(async () => {
    await drained;
    exited = true;
    for (const waiter of waiters) waiter();
  });
  return {
    process: child,
    output: () => text,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(text);
          if (match !== null) done(() => resolve(match));
          else if (exited) done(() => reject(new Error(`the process exited before ${pattern}:\n${text}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${text}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return child.exited;
    },
  };
}

/** Starts `bun start` and resolves once it says where it listens. */
export async function spawnServer(env: Record<string, string>): Promise<BurrowProcess> {
  const server = spawnBurrow([SERVER], env);
  const [, address] = await server.waitFor(/"listening":"([^"]+)"/);
  return { ...server, url: `http://${address!}` };
}

/** Starts `burrow worker` and resolves once its workers run. */
export async function spawnWorker(env: Record<string, string>): Promise<BurrowProcess> {
  const worker = spawnBurrow([CLI, "worker"], env);
  await worker.waitFor(/worker started/);
  return { ...worker, url: "" };
}

/** Polls `probe` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function until<Value>(
  what: string,
  probe: () => Promise<Value | undefined> | Value | undefined,
  timeoutMs = 20_000,
): Promise<Value> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    // Yields to the event loop (responses, mail arriving) between probes; not a fixed wait for an outcome.
    await Bun.sleep(20);
  }
}

/** Queues a verification mail to each recipient in one transaction: every job is due at one instant. */
export async function queueMails(platform: Platform, recipients: readonly string[]): Promise<void> {
  await platform.db.transaction(async (tx) => {
    for (const to of recipients)
      await platform.email.outbox.queue(tx, {
        to,
        template: "auth.verify_email",
        variables: { url: "https://example.com/verify" },
      });
  });
}
