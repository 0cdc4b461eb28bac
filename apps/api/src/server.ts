// The process entry: `bun start`. Serves the API, runs the job workers, drains on SIGTERM.
import { ConfigError, createWorker, loadConfig } from "@burrow/platform-core";
import { createApp } from "./app.ts";
import type { Bindings } from "./env.ts";
import { openPlatform } from "./platform.ts";

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

const platform = await openPlatform(config);
const app = createApp(platform);
const server = Bun.serve({
  port: config.port,
  hostname: config.env === "production" ? "0.0.0.0" : "127.0.0.1",
  // Bun refuses larger bodies before they are read; the app's own check gives the problem+json answer.
  maxRequestBodySize: config.bodyLimitBytes * 2,
  fetch: (request, bunServer) => app.fetch(request, { server: bunServer } satisfies Bindings),
});
const worker = createWorker({ db: platform.db, clock: platform.clock, definitions: platform.jobs, onError: (error, job) => platform.log.warn("job failed", { jobId: job.id, type: job.type, attempt: job.attempts, error: error instanceof Error ? error.message : String(error) }) });
worker.start();

platform.log.info("burrow started", {
  api: `http://${server.hostname}:${server.port}`,
  database: platform.database.driver === "pglite" ? `embedded (${config.dataDir})` : "postgresql",
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  platform.log.info("shutting down", { signal });
  // Stop accepting, let in-flight requests finish, then stop workers and close the database.
  await server.stop(false);
  await worker.stop();
  await platform.database.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
