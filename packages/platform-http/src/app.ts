import { OpenAPIHono } from "@hono/zod-openapi";
import { PlatformError, type FieldError } from "@burrow/platform-core";
import { bodyLimit } from "hono/body-limit";
import { authenticate } from "./authenticate/index.ts";
import { type Platform } from "./compose/platform.ts";
import { csrf } from "./csrf/index.ts";
import { createEdge, type Edge } from "./edge/index.ts";
import { sessionFastLane } from "./current-session/index.ts";
import { type AppEnv, type Bindings } from "./env.ts";
import { ipRateLimit } from "./ip-rate-limit/index.ts";
import { jsonBody } from "./json-body/index.ts";
import { replacedSession } from "./replaced-session/index.ts";
import { notFound, onError } from "./problems/index.ts";
import { authRoutes } from "./routes/auth.ts";
import { healthRoutes } from "./routes/health.ts";
import { devMailboxRoutes } from "./routes/dev-mailbox.ts";
import { emailFlowRoutes } from "./routes/email-flows.ts";
import { hostedPages } from "./pages/routes.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { mfaRoutes } from "./routes/mfa.ts";
import { orgRoutes } from "./routes/orgs/index.ts";
import { auditRoutes } from "./routes/audit.ts";
import { webhookRoutes } from "./routes/webhooks.ts";
import { adminUserRoutes } from "./routes/admin-users.ts";
import { adminOAuthProviderRoutes } from "./routes/admin-oauth-providers.ts";
import { adminOverviewRoutes } from "./routes/admin-overview.ts";
import { adminEmailRoutes } from "./routes/admin-email.ts";
import { adminOrganizationRoutes } from "./routes/admin-organizations.ts";
import { meRoutes } from "./routes/me.ts";
import { meEmailRoutes } from "./routes/me-emails.ts";
import { docsRoutes } from "./routes/docs.ts";
import { oauthRoutes } from "./routes/oauth.ts";
import { securitySchemes } from "./schemas.ts";

/** Turns a failed zod validation into a 400 problem listing each invalid field. */
function validationHook(result: {
  success: boolean;
  target: string;
  error?: { issues: readonly { path: readonly PropertyKey[]; message: string }[] };
}): void {
  if (result.success) return;
  const errors: FieldError[] = (result.error?.issues ?? []).map((issue) => ({
    path: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
  // A malformed id in the path is its own, stable code.
  throw new PlatformError(result.target === "param" ? "invalid_id" : "validation_failed", { errors });
}

/** What serves the API: the routes, and `fetch`, the session check's fast lane in front of them. */
export interface Serving {
  routes: OpenAPIHono<AppEnv>;
  fetch(request: Request, env?: Bindings): Response | Promise<Response>;
}

/** The routes and the fetch `bun start` serves, over one edge (createBurrow's, and the tests'). */
export function createServing(platform: Platform): Serving {
  const edge = platformEdge(platform);
  const routes = createApp(platform, edge);
  const fastLane = sessionFastLane({
    config: platform.config,
    edge,
    sessions: platform.auth.sessions,
    accessTokens: platform.auth.accessTokens,
  });
  return {
    routes,
    fetch(request, env) {
      const fast = fastLane(request);
      if (fast === undefined) return routes.fetch(request, env);
      if (fast instanceof Response) return fast;
      return fast.then((answered) => answered ?? routes.fetch(request, env));
    },
  };
}

/** The API's edge (headers, log line, metrics) over a composed platform. */
export function platformEdge(platform: Platform): Edge {
  return createEdge({ config: platform.config, log: platform.log, observe: platform.prometheus.observeRequest });
}

/**
 * Builds the HTTP API over a composed platform. Tests build one over a test database.
 * @example const app = createApp(composePlatform({ config, database })); await app.request("/healthz")
 */
export function createApp(platform: Platform, edge: Edge = platformEdge(platform)): OpenAPIHono<AppEnv> {
  const { config } = platform;
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use("*", edge.middleware);

  // The JSON API under /v1, and the hosted pages emailed links open under /auth.
  for (const prefix of ["/v1/*", "/auth/*"]) {
    app.use(
      prefix,
      authenticate({
        config,
        sessions: platform.auth.sessions,
        accessTokens: platform.auth.accessTokens,
        apiKeys: platform.auth.apiKeys,
      }),
    );
    app.use(prefix, csrf({ allowedOrigins: config.allowedOrigins }));
    app.use(prefix, replacedSession({ config, db: platform.db, sessions: platform.auth.sessions }));
  }
  for (const prefix of ["/v1/auth/*", "/auth/*"])
    app.use(prefix, ipRateLimit({ db: platform.db, clock: platform.clock, policy: config.ipRateLimit }));
  // A social login's start is a GET that stores a flow and asks the provider's discovery: counted too.
  app.use(
    "/v1/auth/oauth/:provider/start",
    ipRateLimit({ db: platform.db, clock: platform.clock, policy: config.ipRateLimit, methods: "all" }),
  );
  // After CSRF and rate limits: a cross-site or flooding request is refused before its body is read.
  // The hard limit for every path (forms and unknown paths too), counted on the bytes as they stream
  // in, so a chunked body is cut off at the limit rather than buffered whole: 413 problem+json.
  const tooLarge = (): never => {
    throw new PlatformError("payload_too_large", {
      detail: `The request body is larger than ${config.bodyLimitBytes} bytes (BURROW_BODY_LIMIT).`,
    });
  };
  const limit = bodyLimit({ maxSize: config.bodyLimitBytes, onError: tooLarge });
  // A request without a body (most) passes straight through, without a promise of its own.
  app.use("*", (c, next) => (c.req.raw.body === null ? next() : limit(c, next)));
  app.use("/v1/*", jsonBody({ maxBytes: config.bodyLimitBytes }));

  app.route("/", healthRoutes(platform));
  app.route("/", authRoutes(platform));
  app.route("/", meRoutes(platform));
  app.route("/", meEmailRoutes(platform));
  app.route("/", oauthRoutes(platform));
  app.route("/", emailFlowRoutes(platform));
  app.route("/", tokenRoutes(platform));
  app.route("/", mfaRoutes(platform));
  app.route("/", orgRoutes(platform));
  app.route("/", auditRoutes(platform));
  app.route("/", webhookRoutes(platform));
  app.route("/", adminUserRoutes(platform));
  app.route("/", adminOAuthProviderRoutes(platform));
  app.route("/", adminOverviewRoutes(platform));
  app.route("/", adminEmailRoutes(platform));
  app.route("/", adminOrganizationRoutes(platform));
  app.route("/", hostedPages(platform));
  if (config.env !== "production" && platform.email.transport.name === "dev-mailbox")
    app.route("/", devMailboxRoutes(platform));

  for (const [name, scheme] of Object.entries(securitySchemes))
    app.openAPIRegistry.registerComponent("securitySchemes", name, scheme);
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    // Relative to the document, so it names the right place wherever the routes are mounted.
    servers: [{ url: config.basePath === "" ? "/" : config.basePath }],
    info: {
      title: "Burrow API",
      version: "0.1.0",
      description: "Identity platform: accounts, sessions, MFA, organizations and more.",
    },
  });
  app.route("/", docsRoutes());

  app.onError(onError((message, fields) => platform.log.error(message, fields)));
  app.notFound(notFound(() => app.routes));
  return app;
}
