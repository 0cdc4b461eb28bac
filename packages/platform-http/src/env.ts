import type { Server } from "bun";
import type { RequestContext } from "@burrow/platform-core";
import type { Authentication } from "./authenticate/index.ts";

/** What Bun.serve (or a test) hands the app with each request. */
export interface Bindings {
  server?: Server<unknown>;
  /** The peer address, for tests that call `app.request()` without a socket. */
  remoteAddress?: string;
  /** Present when Bun's server itself is the env (`export default { fetch: app.fetch }`). */
  requestIP?: Server<unknown>["requestIP"];
}

export interface Variables {
  requestId: string;
  /** The client IP after trusted-proxy resolution, resolved on first call; undefined when unknown. */
  clientIp: () => string | undefined;
  /** Where the request came from, ready to hand to services and the audit log. */
  requestContext: RequestContext;
  /** The caller's credentials, validated on first use (see middleware/authenticate.ts). */
  authentication: Authentication;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}
