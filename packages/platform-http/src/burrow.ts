import { ConfigError, createWorker, loadConfig, type Logger, type Worker } from "@burrow/platform-core";
import type { Auth, PublicSession, PublicUser } from "@burrow/platform-auth";
import { createGuards, type Rbac } from "@burrow/platform-rbac";
import type { Email } from "@burrow/platform-email";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { createServing } from "./app.ts";
import { authenticate, requireCaller } from "./authenticate/index.ts";
import type { BurrowHooks } from "./compose/hooks.ts";
import { checkBuilderPermissions, openPlatform, type Platform } from "./compose/platform.ts";
import { csrf } from "./csrf/index.ts";
import type { AppEnv, Bindings } from "./env.ts";
import { problemResponse } from "./problems/index.ts";
import { requestContext } from "./request-context/index.ts";

export interface BurrowOptions {
  /** PostgreSQL (`postgres://…`). Without it, Burrow runs embedded PostgreSQL (PGlite) in `dataDir`. */
  databaseUrl?: string;
  /** Where the embedded database and its generated secrets live (`./.burrow` by default). */
  dataDir?: string;
  /** The origin users reach your app at, such as `https://example.com` (no path). */
  publicUrl?: string;
  /** Where you mount `burrow.routes`, such as `/auth`; links in emails and the OpenAPI document use it. */
  basePath?: string;
  /**
   * Any other setting, by its environment variable (docs/configuration.md). `process.env` is read
   * when this is left out; the options above win over both.
   */
  env?: Record<string, string | undefined>;
  /** Your permissions (`"projects:write": "Create and edit projects"`), added to Burrow's catalogue. */
  permissions?: Record<string, string>;
  hooks?: BurrowHooks;
  /** Run the job workers (email, webhooks, housekeeping, hooks) in this process. True by default. */
  worker?: boolean;
  log?: Logger;
}

/** What `requireSession()` puts on the context as `c.get("burrow")`. */
export interface BurrowVariables {
  burrow: { user: PublicUser; session: PublicSession };
}
/** The Hono environment of a builder's routes behind `requireSession()`. */
export interface BurrowEnv {
  Variables: BurrowVariables;
}

export interface Burrow {
  /** Every Burrow route (the API under /v1, hosted pages, /openapi.json, /docs): mount it at `basePath`. */
  routes: OpenAPIHono<AppEnv>;
  basePath: string;
  /**
   * `routes.fetch` with the session check's fast lane in front (`bun start` serves this): a
   * `GET /v1/auth/session` the caches can answer is answered without the middleware chain, with
   * the same answer. Serve it as `Bun.serve({ fetch: burrow.fetch })` where Burrow is served on its own.
   */
  fetch(request: Request, env?: Bindings): Response | Promise<Response>;
  /** Lets a request through when it carries a valid session (cookie, session token or access token). */
  requireSession(): MiddlewareHandler<BurrowEnv>;
  /** `requireSession()`, then the caller must hold `permission` (in the organization `org` names). */
  requirePermission(
    permission: string,
    options?: { org?: (c: Context) => string | undefined },
  ): MiddlewareHandler<BurrowEnv>;
  auth: Auth;
  rbac: Rbac;
  email: Email;
  /** Everything composed: the services operators and the admin console use, the database, the config. */
  platform: Platform;
  /** Mounts `routes` on `app` at `basePath` (refused if already mounted there). */
  mount(app: MountTarget): void;
  /** Stops the workers and closes the database. */
  close(): Promise<void>;
}

/** Mounting the same routes twice under one app would answer every path twice over: refused. */
const mounted = new WeakMap<object, Set<string>>();

/**
 * Burrow inside your own Hono app: its routes under your prefix, guards for your routes, and the
 * services themselves.
 * @example
 * const burrow = await createBurrow({ databaseUrl: process.env.DATABASE_URL, publicUrl: "https://example.com", basePath: "/auth" });
 * burrow.mount(app);                                   // or: app.route("/auth", burrow.routes)
 * app.use("/projects/*", burrow.requireSession());
 * app.post("/projects", burrow.requirePermission("projects:write"), (c) => c.json({ owner: c.get("burrow").user.id }));
 */
export async function createBurrow(options: BurrowOptions = {}): Promise<Burrow> {
  const env: Record<string, string | undefined> = { ...(options.env ?? process.env) };
  const settings: [keyof BurrowOptions, string][] = [
    ["databaseUrl", "DATABASE_URL"],
    ["dataDir", "BURROW_DATA_DIR"],
    ["publicUrl", "PUBLIC_URL"],
    ["basePath", "BURROW_BASE_PATH"],
  ];
  for (const [option, variable] of settings) {
    const value = options[option];
    if (value !== undefined) env[variable] = String(value);
  }
  if (options.databaseUrl !== undefined && !/^postgres(ql)?:\/\/[^/]/.test(options.databaseUrl))
    throw new ConfigError("databaseUrl must be a PostgreSQL URL such as postgres://user@host:5432/app");
  // Refused before anything is opened, so a wrong option leaves no database locked behind it.
  checkBuilderPermissions(options.permissions ?? {});
  const config = loadConfig(env);
  const platform = await openPlatform(config, {
    ...(options.permissions === undefined ? {} : { permissions: options.permissions }),
    ...(options.hooks === undefined ? {} : { hooks: options.hooks }),
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  const { routes, fetch } = createServing(platform);
  const workers = options.worker === false ? [] : startWorkers(platform);

  // The guards for the builder's routes authenticate the request themselves: those routes sit
  // outside Burrow's mount, where its middleware does not run. Failures answer as problem+json.
  const guardChain = [
    requestContext({ trustedProxies: config.trustedProxies }),
    authenticate({
      config,
      sessions: platform.auth.sessions,
      accessTokens: platform.auth.accessTokens,
      apiKeys: platform.auth.apiKeys,
    }),
    csrf({ allowedOrigins: config.allowedOrigins }),
  ];
  const signedIn = async (c: Context<AppEnv>): Promise<void> => {
    const caller = await requireCaller(c);
    const session = platform.auth.sessions.toPublic(caller.session, caller.session.id);
    (c as unknown as Context<BurrowEnv>).set("burrow", { user: caller.user, session });
  };
  const guarded =
    (check: (c: Context<AppEnv>) => Promise<void>): MiddlewareHandler<BurrowEnv> =>
    async (c, next) => {
      const context = c as unknown as Context<AppEnv>;
      let passed = false;
      try {
        // Each guard middleware runs the next one, and the last runs the check.
        const run = async (index: number): Promise<void> => {
          const middleware = guardChain[index];
          if (middleware === undefined) {
            await check(context);
            passed = true;
            return;
          }
          await middleware(context, () => run(index + 1));
        };
        await run(0);
      } catch (error) {
        return problemResponse(context, error);
      }
      if (passed) await next();
    };
  const guards = createGuards({
    resolver: platform.rbac.resolver,
    entitlements: platform.rbac.entitlements,
    userId: (c) => (c as unknown as Context<BurrowEnv>).get("burrow")?.user.id,
  });

  return {
    routes,
    basePath: config.basePath,
    fetch,
    requireSession: () =>
      Object.defineProperty(guarded(signedIn), "name", { value: "requireSession" }) as MiddlewareHandler<BurrowEnv>,
    requirePermission: (permission, guard = {}) => {
      if (!(permission in platform.rbac.catalogue))
        throw new ConfigError(
          `requirePermission("${permission}"): no such permission; add it to createBurrow({ permissions })`,
        );
      const holds = guards.requirePermission(permission, guard);
      return Object.defineProperty(
        guarded(async (c) => {
          await signedIn(c);
          await holds(c as unknown as Context, async () => {});
        }),
        "name",
        { value: "requirePermission" },
      ) as MiddlewareHandler<BurrowEnv>;
    },
    mount(app) {
      const prefixes = mounted.get(app) ?? new Set<string>();
      const prefix = config.basePath === "" ? "/" : config.basePath;
      if (prefixes.has(prefix)) throw new ConfigError(`Burrow is already mounted at ${prefix} on this app`);
      prefixes.add(prefix);
      mounted.set(app, prefixes);
      app.route(prefix, routes);
    },
    auth: platform.auth,
    rbac: platform.rbac,
    email: platform.email,
    platform,
    async close() {
      await Promise.all(workers.map((worker) => worker.stop()));
      await platform.database.close();
    },
  };
}

/** Any Hono app Burrow's routes can be mounted on. */
export interface MountTarget {
  route(path: string, app: OpenAPIHono<AppEnv>): unknown;
}

/**
 * The job workers: mail, housekeeping and hooks in one, webhook deliveries in another — they wait on
 * other people's servers (up to BURROW_WEBHOOK_TIMEOUT each) and must never hold up mail.
 */
export function startWorkers(platform: Platform): Worker[] {
  const workerFor = (definitions: typeof platform.jobs, batchSize: number) =>
    createWorker({
      db: platform.db,
      clock: platform.clock,
      definitions,
      batchSize,
      metrics: platform.prometheus.metrics,
      onError: (error, job) =>
        platform.log.warn("job failed", {
          jobId: job.id,
          type: job.type,
          attempt: job.attempts,
          error: error instanceof Error ? error.message : String(error),
        }),
    });
  const webhookJobs = platform.webhooks.jobs;
  const workers = [
    workerFor(Object.fromEntries(Object.entries(platform.jobs).filter(([type]) => !(type in webhookJobs))), 10),
    workerFor(webhookJobs, 25),
  ];
  for (const worker of workers) worker.start();
  return workers;
}
