import { createTestClock, createTestDatabase, type TestClock } from "@burrow/platform-core/testing";
import {
  createWorker,
  loadConfig,
  newId,
  silentLogger,
  type Config,
  type DatabaseHandle,
  type Logger,
} from "@burrow/platform-core";
import { principalRoles, rolePermissions, roles } from "@burrow/platform-rbac/schema";
import { referenceTotp } from "@burrow/platform-auth/testing";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { TestMailServer } from "@burrow/platform-email/testing";
import { createApp, createServing } from "@burrow/platform-http";
import { type AppEnv, composePlatform, listenForChanges, type Platform } from "@burrow/platform-http";

export interface TestApi {
  app: OpenAPIHono<AppEnv>;
  platform: Platform;
  database: DatabaseHandle;
  clock: TestClock;
  config: Config;
  /** Calls the app as a client at `ip` would (the socket peer address). */
  request(path: string, init?: RequestInit & { ip?: string; json?: unknown }): Promise<Response>;
  /** Runs due jobs (mail included) until none is left. */
  runJobs(): Promise<void>;
  close(): Promise<void>;
}

/** The environment every test composition starts from (processes a test spawns included). */
export const TEST_ENV = {
  NODE_ENV: "test",
  BURROW_SECRET: "test-secret-".padEnd(48, "x"),
  BURROW_ENCRYPTION_KEYS: `v1:${Buffer.alloc(32, 42).toString("base64")}`,
  // Most tests send many requests from one address; the limiter has its own tests.
  BURROW_IP_RATE_LIMIT: "off",
  BURROW_EMAIL_VERIFICATION: "off",
} as const;

/**
 * An app over a fresh test database with a clock the test moves. With `mail`, the server is started,
 * the app sends to it, and `close()` stops it again.
 */
export async function createTestApi(
  env: Record<string, string> = {},
  options: { log?: Logger; mail?: TestMailServer } = {},
): Promise<TestApi> {
  const { mail } = options;
  await mail?.start();
  const config = loadConfig({
    ...TEST_ENV,
    BURROW_DATA_DIR: "/nonexistent-test-data-dir",
    ...(mail === undefined ? {} : { SMTP_URL: mail.url() }),
    ...env,
  });
  const database = await createTestDatabase();
  const clock = createTestClock(new Date("2026-03-01T12:00:00.000Z"));
  const platform = composePlatform({ config, database, clock, log: options.log ?? silentLogger });
  // As a server does: the session cache serves only while its node hears evictions.
  await listenForChanges(platform);
  // Served as `bun start` serves it: the session check's fast lane in front of the routes.
  const { routes: app, fetch } = createServing(platform);
  const worker = createWorker({
    db: database.db,
    clock,
    definitions: platform.jobs,
    metrics: platform.prometheus.metrics,
  });
  return {
    app,
    platform,
    database,
    clock,
    config,
    request(path, init = {}) {
      const { ip = "192.0.2.10", json, ...rest } = init;
      const headers = new Headers(rest.headers);
      let body = rest.body;
      if (json !== undefined) {
        headers.set("content-type", "application/json");
        body = JSON.stringify(json);
      }
      return Promise.resolve(
        fetch(new Request(/^https?:\/\//.test(path) ? path : `http://localhost${path}`, { ...rest, headers, body }), {
          remoteAddress: ip,
        }),
      );
    },
    async runJobs() {
      for (;;) {
        const summary = await worker.runOnce();
        if (summary.succeeded + summary.retried + summary.dead === 0) return;
      }
    },
    async close() {
      await platform.email.transport.close?.();
      await database.close();
      await mail?.stop();
    },
  };
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId?: string;
  errors?: { path: string; message: string }[];
  /** On email_not_verified: whether this answer mailed a new verification link. */
  verificationEmailSent?: boolean;
}

/** Asserts a problem+json response and returns its body. */
export async function readProblem(response: Response): Promise<ProblemBody> {
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("application/problem+json"))
    throw new Error(`expected problem+json, got ${type} ${response.status}: ${await response.text()}`);
  return (await response.json()) as ProblemBody;
}

/** The browser origin tests use for cookie requests (the default PUBLIC_URL). */
export const ORIGIN = "http://localhost:3000";

export const PASSWORD = "purple submarine garden";

export interface TestUser {
  id: string;
  email: string;
  password: string;
  token: string;
  /** `Authorization: Bearer` headers for this user's session. */
  bearer: Record<string, string>;
}

let counter = 0;

/** Signs a new user up (verification off) and returns its session. */
export async function signUpUser(
  api: TestApi,
  overrides: { email?: string; password?: string; name?: string; userAgent?: string } = {},
): Promise<TestUser> {
  const email = overrides.email ?? `user${++counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = overrides.password ?? PASSWORD;
  const response = await api.request("/v1/auth/sign-up", {
    method: "POST",
    headers: { ...BEARER_CLIENT, ...(overrides.userAgent ? { "user-agent": overrides.userAgent } : {}) },
    json: { email, password, ...(overrides.name ? { name: overrides.name } : {}) },
  });
  if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { user: { id: string }; sessionToken: string };
  return {
    id: body.user.id,
    email,
    password,
    token: body.sessionToken,
    bearer: { authorization: `Bearer ${body.sessionToken}` },
  };
}

/** A POST with a JSON body, as a client at the default test address sends it. */
export const post = (api: TestApi, path: string, json: unknown, headers: Record<string, string> = {}) =>
  api.request(path, { method: "POST", json, headers });

/** Signs in and returns the response (not asserting success). */
export function signIn(
  api: TestApi,
  email: string,
  password: string,
  init: RequestInit & { ip?: string } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("x-burrow-client", "bearer");
  return api.request("/v1/auth/sign-in", { ...init, headers, method: "POST", json: { email, password } });
}

/** What a native client sends to get session tokens in bodies. */
export const BEARER_CLIENT = { "x-burrow-client": "bearer" };

/** Re-authenticates by password and switches the user to the session's new token. */
export async function reauthenticate(
  api: TestApi,
  user: TestUser,
  proof: Record<string, unknown> = { password: user.password },
): Promise<Response> {
  const response = await api.request("/v1/auth/reauthenticate", { method: "POST", headers: user.bearer, json: proof });
  if (response.status === 200) {
    const body = (await response.clone().json()) as { sessionToken: string };
    user.token = body.sessionToken;
    user.bearer.authorization = `Bearer ${body.sessionToken}`;
  }
  return response;
}

/** The session cookie pair (`name=value`) a response set, for sending back. */
export function sessionCookieFrom(response: Response): string {
  const header = response.headers.getSetCookie().find((cookie) => cookie.includes("burrow_session="));
  if (header === undefined) throw new Error("no session cookie was set");
  return header.split(";")[0]!;
}

/** Gives the user a platform role holding exactly `permissions` (a custom role made for the test). */
export async function grantPlatformPermissions(api: TestApi, userId: string, permissions: string[]): Promise<void> {
  const now = api.clock.now();
  const roleId = newId("role", now.getTime());
  await api.platform.db
    .insert(roles)
    .values({ id: roleId, key: `test_${roleId.slice(-8)}`, name: "Test role", scope: "platform", createdAt: now });
  await api.platform.db.insert(rolePermissions).values(permissions.map((permission) => ({ roleId, permission })));
  await api.platform.db
    .insert(principalRoles)
    .values({ id: newId("role", now.getTime()), userId, roleId, createdAt: now });
  api.platform.rbac.resolver.evict(userId);
}

/** Confirms an authenticator app for the user (codes from an independent RFC 6238 generator), then moves past its step. */
export async function enrolTotp(
  api: TestApi,
  user: TestUser,
): Promise<{ secret: string; recoveryCodes: string[]; factorId: string }> {
  const codeNow = (secret: string) => referenceTotp(secret, Math.floor(api.clock.now().getTime() / 1000));
  const enrolment = (await (
    await api.request("/v1/mfa/totp/enroll", { method: "POST", headers: user.bearer, json: {} })
  ).json()) as { factorId: string; secret: string };
  const confirmed = (await (
    await api.request("/v1/mfa/totp/confirm", {
      method: "POST",
      headers: user.bearer,
      json: { factorId: enrolment.factorId, code: codeNow(enrolment.secret) },
    })
  ).json()) as { recoveryCodes: string[] };
  api.clock.advance(30_000);
  return { secret: enrolment.secret, recoveryCodes: confirmed.recoveryCodes, factorId: enrolment.factorId };
}

/**
 * The API's app over `api`'s platform, with what it logs as errors kept (one JSON line each) for a
 * test to read: a test adds a route that fails its own way and reads the answer and the log.
 */
export function appKeepingErrors(api: TestApi): { app: ReturnType<typeof createApp>; errors: string[] } {
  const errors: string[] = [];
  const platform = {
    ...api.platform,
    log: {
      ...silentLogger,
      error: (message: string, fields?: Record<string, unknown>) =>
        void errors.push(JSON.stringify({ message, ...fields })),
    },
  };
  return { app: createApp(platform), errors };
}
