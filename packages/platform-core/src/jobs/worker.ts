import type { Clock } from "../clock.ts";
import type { Database } from "../database/index.ts";
import { NO_METRICS, type Metrics } from "../metrics.ts";
import { claimJobs, completeJob, failJob, scheduleRecurring, type JobRow } from "./queue.ts";

export interface Backoff {
  /** Delay after the first failed attempt. */
  baseMs: number;
  /** No delay grows beyond this. */
  maxMs: number;
}

/** How one job type is run. */
/**
 * A package's reaction to a Postgres NOTIFY on its channel (for example "signing keys changed on
 * another node"). Each package exports its own; the composition subscribes them all.
 */
export interface ChannelListener {
  channel: string;
  onNotify(payload: string): void | Promise<void>;
  /**
   * Told whenever the subscription starts or stops hearing the channel (see `DatabaseHandle.listen`):
   * what is kept in memory on the strength of its notifications is not to be trusted while it is deaf.
   */
  onConnectionChange?(connected: boolean): void;
}

export interface JobDefinition {
  run(payload: unknown, job: JobRow): Promise<void>;
  backoff?: Backoff;
  /**
   * Runs by itself every `everyMs`, once across all nodes: a worker schedules it when it starts (due
   * at once) and after each run, under the job type as its key.
   */
  everyMs?: number;
}

export const DEFAULT_BACKOFF: Backoff = { baseMs: 30_000, maxMs: 3_600_000 };

/** Delay before the next attempt after `attempts` failures: base × 2^(attempts−1), capped. */
export function backoffDelay(backoff: Backoff, attempts: number): number {
  return Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempts - 1));
}

export interface WorkerOptions {
  db: Database;
  clock: Clock;
  definitions: Record<string, JobDefinition>;
  /** How long a claimed job stays ours; a crashed worker's jobs are picked up after it. */
  leaseMs?: number;
  batchSize?: number;
  workerId?: string;
  /** Where handler failures are reported (never with the payload, which may hold secrets). */
  onError?: (error: unknown, job: JobRow) => void;
  /** Where runs are counted by type and outcome; nothing by default. */
  metrics?: Metrics;
  /** The timer the polling loop uses; tests hand in one they drive. */
  timers?: { set(run: () => void, delayMs: number): unknown; clear(handle: unknown): void };
}

export interface RunSummary {
  succeeded: number;
  retried: number;
  dead: number;
}

export interface Worker {
  /** Claims and runs one batch of due jobs; tests call it after moving the clock. */
  runOnce(): Promise<RunSummary>;
  /** Queues the first run of each recurring job type unless one is pending (`start` does this). */
  scheduleRecurring(): Promise<void>;
  /** Polls in the background until `stop()`. */
  start(options?: { pollMs?: number }): void;
  /** Stops polling and waits for the batch in flight (at most until its jobs' lease runs out). */
  stop(): Promise<void>;
}

/**
 * A worker for the job types in `definitions`. Any number of workers, in any number of
 * processes, may run against one database.
 * @example const worker = createWorker({ db, clock, definitions: { "email.send": { run: sendEmail } } }); worker.start();
 */
export function createWorker(options: WorkerOptions): Worker {
  const { db, clock, definitions } = options;
  const metrics = options.metrics ?? NO_METRICS;
  const leaseMs = options.leaseMs ?? 60_000;
  const batchSize = options.batchSize ?? 10;
  const workerId = options.workerId ?? `worker-${crypto.randomUUID()}`;
  const types = Object.keys(definitions);
  const timers = options.timers ?? {
    set: (run: () => void, delayMs: number) => setTimeout(run, delayMs),
    clear: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  let running = false;
  let pollMs = 1000;
  let timer: unknown;
  let inFlight: Promise<unknown> = Promise.resolve();
  let recurringQueued = false;
  /** The jobs this worker is running, a batch that outlived its lease included: never claimed again here while they run. */
  const runningHere = new Set<string>();

  async function runJob(job: JobRow, summary: RunSummary): Promise<void> {
    runningHere.add(job.id);
    try {
      await attempt(job, summary);
    } finally {
      runningHere.delete(job.id);
    }
  }

  async function attempt(job: JobRow, summary: RunSummary): Promise<void> {
    const definition = definitions[job.type];
    const now = () => clock.now();
    // A job reclaimed after its last attempt's lease ran out is dead without running again.
    if (definition === undefined || job.attempts > job.maxAttempts) {
      await failJob(
        db,
        { ...job, maxAttempts: Math.min(job.maxAttempts, job.attempts) },
        now(),
        definition === undefined ? "no handler" : "lease expired on the last attempt",
        now(),
      );
      summary.dead++;
      return;
    }
    try {
      await definition.run(job.payload, job);
      await completeJob(db, job, now());
      summary.succeeded++;
      metrics.count("jobs_run_total", { type: job.type, outcome: "succeeded" });
      if (definition.everyMs !== undefined)
        await scheduleRecurring(db, clock, {
          type: job.type,
          key: job.type,
          runAt: new Date(now().getTime() + definition.everyMs),
        });
    } catch (error) {
      options.onError?.(error, job);
      const message = error instanceof Error ? error.message : String(error);
      const retryAt = new Date(now().getTime() + backoffDelay(definition.backoff ?? DEFAULT_BACKOFF, job.attempts));
      const outcome = await failJob(db, job, now(), message, retryAt);
      if (outcome === "dead") summary.dead++;
      else summary.retried++;
      metrics.count("jobs_run_total", { type: job.type, outcome: outcome === "dead" ? "dead" : "retried" });
      // A recurring job that ran out of attempts still runs at its next interval.
      if (outcome === "dead" && definition.everyMs !== undefined)
        await scheduleRecurring(db, clock, {
          type: job.type,
          key: job.type,
          runAt: new Date(now().getTime() + definition.everyMs),
        });
    }
  }

  /** Every recurring type has its next run queued (a no-op where another node already queued it). */
  async function scheduleAllRecurring(): Promise<void> {
    for (const [type, definition] of Object.entries(definitions))
      if (definition.everyMs !== undefined) await scheduleRecurring(db, clock, { type, key: type, runAt: clock.now() });
  }

  async function runOnce(): Promise<RunSummary> {
    const summary: RunSummary = { succeeded: 0, retried: 0, dead: 0 };
    const claimed = await claimJobs(db, {
      types,
      workerId,
      now: clock.now(),
      leaseMs,
      limit: batchSize,
      excluding: [...runningHere],
    });
    await Promise.all(claimed.map((job) => runJob(job, summary)));
    return summary;
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    timer = timers.set(() => {
      // The first turn queues the recurring jobs (until that has worked once), then claims.
      const batch = (
        recurringQueued ? Promise.resolve() : scheduleAllRecurring().then(() => void (recurringQueued = true))
      )
        .then(runOnce)
        .then((summary) => (summary.succeeded + summary.retried + summary.dead >= batchSize ? 0 : pollMs))
        .catch((error: unknown) => {
          console.error("[jobs] claim failed:", error instanceof Error ? error.message : error);
          return pollMs;
        });
      // A batch that has not settled when its jobs' lease runs out (a handler, or a query whose
      // connection died under it, that never answers) no longer holds the loop: the worker polls on,
      // for other jobs (its own still running are not claimed again here; another worker may take them
      // over, as from a crashed one). Waiting for it would stop this worker for good.
      let lapse: unknown;
      const lapsed = new Promise<number>((resolve) => {
        lapse = timers.set(() => {
          console.error(`[jobs] a batch is still running after its lease (${leaseMs} ms); polling on without it`);
          resolve(0);
        }, leaseMs);
      });
      const next = Promise.race([batch, lapsed]).finally(() => timers.clear(lapse));
      inFlight = next;
      // A full batch suggests more is waiting: poll again at once; otherwise wait the poll interval.
      void next.then(schedule);
    }, delayMs);
  }

  return {
    runOnce,
    scheduleRecurring: scheduleAllRecurring,
    start(startOptions = {}) {
      if (running) return;
      running = true;
      pollMs = startOptions.pollMs ?? 1000;
      schedule(0);
    },
    async stop() {
      running = false;
      if (timer !== undefined) timers.clear(timer);
      await inFlight;
    },
  };
}
