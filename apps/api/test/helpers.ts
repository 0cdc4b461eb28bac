import { createTestClock, createTestDatabase, type TestClock } from "@burrow/platform-core/testing";
import { loadConfig, silentLogger, type Config, type DatabaseHandle } from "@burrow/platform-core";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { createApp } from "../src/app.ts";
import type { AppEnv } from "../src/env.ts";
import { composePlatform, type Platform } from "../src/platform.ts";

export interface TestApi {
  app: OpenAPIHono<AppEnv>;
  platform: Platform;
  database: DatabaseHandle;
  clock: TestClock;
  config: Config;
  /** Calls the app as a client at `ip` would (the socket peer address). */
  request(path: string, init?: RequestInit & { ip?: string; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

const TEST_KEY = `v1:${Buffer.alloc(32, 42).toString("base64")}`;

/** An app over a fresh test database with a clock the test moves. */
export async function createTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const config = loadConfig({
    NODE_ENV: "test",
    BURROW_SECRET: "test-secret-".padEnd(48, "x"),
    BURROW_ENCRYPTION_KEYS: TEST_KEY,
    BURROW_DATA_DIR: "/nonexistent-test-data-dir",
    ...env,
  });
  const database = await createTestDatabase();
  const clock = createTestClock(new Date("2026-03-01T12:00:00.000Z"));
  const platform = composePlatform({ config, database, clock, log: silentLogger });
  const app = createApp(platform);
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
      return Promise.resolve(app.request(path, { ...rest, headers, body }, { remoteAddress: ip }));
    },
    close: () => database.close(),
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
}

/** Asserts a problem+json response and returns its body. */
export async function readProblem(response: Response): Promise<ProblemBody> {
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("application/problem+json")) throw new Error(`expected problem+json, got ${type} ${response.status}: ${await response.text()}`);
  return (await response.json()) as ProblemBody;
}
