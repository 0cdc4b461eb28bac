import type { Clock, Database, JobDefinition, Logger, Sweeper } from "@burrow/platform-core";

/** The recurring job that sweeps every package's expired rows. */
export const HOUSEKEEPING_JOB = "housekeeping.sweep";

export interface Housekeeping {
  /** Runs every sweeper once, in order; how many rows each deleted (the CLI's `cleanup` calls this). */
  sweepAll(): Promise<Record<string, number>>;
  /** The recurring job: once per interval across all nodes, on the job queue. */
  jobs: Record<string, JobDefinition>;
}

/**
 * Housekeeping over the sweepers each package exports (`coreSweepers`, `email.sweepers`,
 * `auth.sweepers`): a package says what of its own tables has expired, this only runs them.
 */
export function createHousekeeping(options: {
  db: Database;
  clock: Clock;
  log: Logger;
  sweepers: Sweeper[];
  everyMs: number;
}): Housekeeping {
  async function sweepAll(): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {};
    // One clock reading for the whole run, so every sweeper judges by the same moment.
    const now = options.clock.now();
    for (const sweeper of options.sweepers) deleted[sweeper.name] = await sweeper.sweep(options.db, now);
    return deleted;
  }
  return {
    sweepAll,
    jobs: {
      [HOUSEKEEPING_JOB]: {
        everyMs: options.everyMs,
        async run() {
          const deleted = await sweepAll();
          options.log.info("housekeeping swept", { deleted });
        },
      },
    },
  };
}
