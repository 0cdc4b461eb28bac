// The process entry: `bun start`. Serves the API (and the admin console) on Burrow's one
// composition, `createBurrow`, runs the job workers, drains on SIGTERM.
import { ConfigError } from "@burrow/platform-core";
import type { Server } from "bun";
import { type Bindings, type Burrow, createBurrow } from "@burrow/platform-http";
import { createAdminApp } from "@burrow/admin";

let burrow: Burrow;
try {
  burrow = await createBurrow();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
const { platform } = burrow;
const { config } = platform;

// Handlers still running. A caller that hangs up mid-request (a phone losing signal, a proxy timing
// out) is no longer among the server's pending requests, but its handler carries on: shutdown waits
// for it too before closing the database, which it would otherwise meet closed mid-way.
let handling = 0;
let allHandled: (() => void) | undefined;
const handled = () => {
  if (--handling === 0) allHandled?.();
};
function tracked(
  handle: (request: Request, server: Server<unknown>) => Response | Promise<Response>,
): (request: Request, server: Server<unknown>) => Response | Promise<Response> {
  return (request, server) => {
    handling++;
    let answer: Response | Promise<Response>;
    try {
      answer = handle(request, server);
    } catch (error) {
      handled();
      throw error;
    }
    if (answer instanceof Promise) return answer.finally(handled);
    handled();
    return answer;
  };
}

const server = Bun.serve({
  port: config.port,
  hostname: config.host,
  // Bun answers a body over its own limit itself, with a bare 413 and no problem document. So Bun's
  // is lifted, and the app's (BURROW_BODY_LIMIT) is the hard limit: Content-Length is checked before
  // anything is read, and a chunked body is counted as it streams in and cut off at the limit.
  maxRequestBodySize: Number.MAX_SAFE_INTEGER,
  fetch: tracked((request, bunServer) => burrow.fetch(request, { server: bunServer } satisfies Bindings)),
});
// The admin console listens beside the API in the same process: the embedded database serves one
// process, and the console calls the same services the API does (ADMIN_PORT=off leaves it out).
const adminServer =
  config.adminPort === null
    ? null
    : (() => {
        const admin = createAdminApp(platform);
        return Bun.serve({
          port: config.adminPort,
          hostname: config.host,
          fetch: tracked((request, bunServer) => admin.fetch(request, { server: bunServer } satisfies Bindings)),
        });
      })();

// The address to open is PUBLIC_URL (an allowed origin), not the bind address: a browser at
// http://127.0.0.1:3000 would be refused by the CSRF check when only http://localhost:3000 is allowed.
platform.log.info("burrow started", {
  url: config.publicUrl,
  listening: `${server.hostname}:${server.port}`,
  ...(adminServer === null
    ? {}
    : { admin: config.adminUrl, adminListening: `${adminServer.hostname}:${adminServer.port}` }),
  database: platform.database.driver === "pglite" ? `embedded (${config.dataDir})` : "postgresql",
});
if (adminServer !== null && process.stdout.isTTY)
  console.log(
    `\n  API            ${config.publicUrl}  (reference: ${config.publicUrl}/docs)\n  Admin console  ${config.adminUrl}\n  First operator: bun run burrow create-admin you@example.com  (prints a one-time set-up link)\n`,
  );

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Stop accepting (the listening sockets close at once: a new connection is refused), let in-flight
  // requests finish (those whose callers hung up too), then stop the workers (the jobs in hand
  // finish) and close the database. The log line comes after the sockets closed, so whoever reads
  // it knows no new connection gets in.
  const drained = Promise.all([server.stop(false), adminServer?.stop(false)]);
  platform.log.info("shutting down", { signal, pendingRequests: server.pendingRequests, handlersRunning: handling });
  await drained;
  if (handling > 0) await new Promise<void>((resolve) => (allHandled = resolve));
  await burrow.close();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
