// A real Burrow for the client's tests: the API over a fresh test database (PostgreSQL when
// DATABASE_URL is set), listening on 127.0.0.1 so the client goes through real fetch and sockets.
import { createTestApi, type TestApi } from "@burrow/api/test/helpers.ts";

export interface RunningBurrow {
  api: TestApi;
  /** `http://127.0.0.1:<port>` (or `localhost`), also the API's PUBLIC_URL (so its origin passes the CSRF rule). */
  baseUrl: string;
  /** The `grantType` of every `POST /v1/auth/token` that reached the server, in order. */
  grants: string[];
  /** Serves `path` with `respond` before the API sees it (a browser test's page and script). */
  serve(path: string, respond: () => Response): void;
  close(): Promise<void>;
}

/**
 * Starts Burrow on 127.0.0.1 and a free port. `host: "localhost"` names it so in URLs (the same
 * socket): a passkey's relying party must be a domain, never an IP address.
 */
export async function startBurrow(
  env: Record<string, string> = {},
  options: { host?: "127.0.0.1" | "localhost" } = {},
): Promise<RunningBurrow> {
  const grants: string[] = [];
  const pages = new Map<string, () => Response>();
  let api: TestApi | undefined;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request, server) {
      if (api === undefined) return new Response("starting", { status: 503 });
      const url = new URL(request.url);
      const page = pages.get(url.pathname);
      if (page !== undefined) return page();
      if (request.method === "POST" && url.pathname === "/v1/auth/token") {
        const body = (await request
          .clone()
          .json()
          .catch(() => ({}))) as { grantType?: string };
        grants.push(body.grantType ?? "(none)");
      }
      return api.app.fetch(request, { remoteAddress: server.requestIP(request)?.address ?? "127.0.0.1" });
    },
  });
  const baseUrl = `http://${options.host ?? "127.0.0.1"}:${server.port}`;
  api = await createTestApi({ PUBLIC_URL: baseUrl, ...env });
  const started = api;
  return {
    api: started,
    baseUrl,
    grants,
    serve: (path, respond) => void pages.set(path, respond),
    async close() {
      await server.stop(true);
      await started.close();
    },
  };
}
