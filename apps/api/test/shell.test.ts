import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { sql } from "drizzle-orm";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_MIGRATIONS_FOLDER, createDatabase, loadConfig, silentLogger } from "@burrow/platform-core";
import { createApp } from "@burrow/platform-http";
import { composePlatform } from "@burrow/platform-http";
import { appKeepingErrors, createTestApi, readProblem, signUpUser, type TestApi } from "./helpers.ts";

describe("API shell", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi({ BURROW_BODY_LIMIT: "2048", BURROW_ALLOWED_ORIGINS: "https://app.example.com" });
    // A route that fails the way a bug would, to see what leaks.
    api.app.post("/v1/test/boom", () => {
      throw new Error("db password=hunter2 at 10.1.2.3");
    });
    api.app.post("/v1/test/echo", async (c) => c.json(await c.req.json()));
  });
  afterAll(() => api.close());

  test("/healthz and /readyz answer 200", async () => {
    expect(await (await api.request("/healthz")).json()).toEqual({ status: "ok" });
    const ready = await api.request("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", database: "up", migrations: "current" });
  });

  test("CORS: an allowed origin is answered with credentials, any other origin is not named; preflights answer 204", async () => {
    const allowed = await api.request("/healthz", { headers: { origin: "https://app.example.com" } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    expect(allowed.headers.get("access-control-expose-headers")).toBe("X-Request-Id,Retry-After");
    expect(allowed.headers.get("vary")).toContain("Origin");
    // The route's own headers and the security headers are all there, on the one response.
    expect(allowed.headers.get("x-request-id")).toMatch(/^req_/);
    expect(allowed.headers.get("content-type")).toContain("application/json");
    expect(allowed.headers.get("x-content-type-options")).toBe("nosniff");

    const foreign = await api.request("/healthz", { headers: { origin: "https://evil.example" } });
    expect(foreign.status).toBe(200);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    expect(foreign.headers.get("vary")).toContain("Origin");

    const preflight = await api.request("/v1/auth/sign-in", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type, x-burrow-client",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    expect(preflight.headers.get("access-control-allow-headers")).toBe("content-type,x-burrow-client");
    expect(preflight.headers.get("access-control-max-age")).toBe("600");
    expect(preflight.headers.get("x-request-id")).toMatch(/^req_/);
    const foreignPreflight = await api.request("/v1/auth/sign-in", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    expect(foreignPreflight.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("/openapi.json is a valid OpenAPI 3.1 document", async () => {
    const document = await (await api.request("/openapi.json")).json();
    expect(document.openapi).toBe("3.1.0");
    const result = await new Validator().validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(Object.keys(document.paths)).toContain("/readyz");
    const docs = await api.request("/docs");
    expect(docs.status).toBe(200);
    // Relative to the page, so /docs finds the document wherever the routes are mounted.
    expect(await docs.text()).toContain('data-spec-url="openapi.json"');
  });

  test("every operation has a unique operationId and says how its caller authenticates", async () => {
    const document = await (await api.request("/openapi.json")).json();
    const declared = Object.keys(document.components.securitySchemes);
    expect(declared.sort()).toEqual(["apiKey", "bearerAuth", "sessionCookie"]);
    const operationIds = new Set<string>();
    const probes: { path: string; secured: boolean }[] = [];
    for (const [path, operations] of Object.entries<Record<string, Record<string, unknown>>>(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const { operationId, security } = operation as { operationId?: string; security?: Record<string, string[]>[] };
        expect(operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
        expect(operationIds.has(operationId!), `${operationId} twice`).toBe(false);
        operationIds.add(operationId!);
        expect(Array.isArray(security), `${method} ${path} declares security`).toBe(true);
        for (const requirement of security!)
          for (const scheme of Object.keys(requirement)) expect(declared).toContain(scheme);
        // Reads without parameters can be called as they are: the declaration must match the answer.
        if (method === "get" && !path.includes("{")) probes.push({ path, secured: security!.length > 0 });
      }
    }
    expect(operationIds.size).toBeGreaterThan(100);
    for (const { path, secured } of probes) {
      const response = await api.request(path);
      const unauthenticated = response.status === 401;
      expect(`${path} ${unauthenticated ? "401" : "not 401"}`).toBe(`${path} ${secured ? "401" : "not 401"}`);
    }
  });

  test('a 401 says how to authenticate (RFC 6750): error="invalid_token" when a sent token was refused', async () => {
    const challenge = async (headers: Record<string, string>) => {
      const response = await api.request("/v1/auth/session", { headers });
      expect(response.status).toBe(401);
      return response.headers.get("www-authenticate");
    };
    expect(await challenge({})).toBe('Bearer realm="burrow"');
    expect(await challenge({ authorization: `Bearer ses_01jc4x6t0m7w8s9a2b3c4d5e6f.${"x".repeat(43)}` })).toBe(
      'Bearer realm="burrow", error="invalid_token"',
    );
    expect(await challenge({ authorization: "Basic dXNlcjpwYXNz" })).toBe(
      'Bearer realm="burrow", error="invalid_token"',
    );
    expect(await challenge({ "x-api-key": `bk_key_01jc4x6t0m7w8s9a2b3c4d5e6f_${"y".repeat(43)}` })).toBe(
      'Bearer realm="burrow", error="invalid_token"',
    );
    // A session that ended: its token is refused as well.
    const user = await signUpUser(api);
    expect((await api.request("/v1/auth/sign-out", { method: "POST", headers: user.bearer })).status).toBeLessThan(300);
    expect(await challenge(user.bearer)).toBe('Bearer realm="burrow", error="invalid_token"');
    // Answers other than 401 carry no challenge.
    expect((await api.request("/healthz")).headers.get("www-authenticate")).toBeNull();
  });

  test("every response carries a request id and the security headers", async () => {
    const response = await api.request("/healthz");
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("referrer-policy")).toBe("no-referrer");
    expect(response.headers.get("content-security-policy")).toBe(
      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    );
    const api401 = await api.request("/v1/auth/session");
    expect(api401.headers.get("content-security-policy")).toBe(
      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    );
    expect(response.headers.get("strict-transport-security")).toBeNull();
    const echoed = await api.request("/healthz", { headers: { "x-request-id": "trace-1234abcd" } });
    expect(echoed.headers.get("x-request-id")).toBe("trace-1234abcd");
    const refused = await api.request("/healthz", { headers: { "x-request-id": "<script>" } });
    expect(refused.headers.get("x-request-id")).toMatch(/^req_/);
  });

  test("CORS answers configured origins only", async () => {
    const allowed = await api.request("/healthz", {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST" },
    });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(allowed.headers.get("access-control-allow-credentials")).toBe("true");
    const other = await api.request("/healthz", { headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("malformed JSON is a 400 problem", async () => {
    const response = await api.request("/v1/test/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"a":',
    });
    expect(response.status).toBe(400);
    const problem = await readProblem(response);
    expect(problem.code).toBe("malformed_json");
    expect(problem.requestId).toMatch(/^req_/);
  });

  test("a wrong content type is a 415 problem, text/plain included", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const response = await api.request("/v1/test/echo", {
        method: "POST",
        headers: { "content-type": type },
        body: '{"a":1}',
      });
      expect(response.status).toBe(415);
      expect((await readProblem(response)).code).toBe("unsupported_media_type");
    }
    const missing = await api.app.request(
      "/v1/test/echo",
      { method: "POST", body: '{"a":1}' },
      { remoteAddress: "192.0.2.1" },
    );
    expect(missing.status).toBe(415);
  });

  test("a body over the limit is a 413 problem, with or without Content-Length", async () => {
    const big = JSON.stringify({ data: "x".repeat(4096) });
    const declared = await api.request("/v1/test/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: big,
    });
    expect(declared.status).toBe(413);
    expect((await readProblem(declared)).code).toBe("payload_too_large");
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const chunked = await api.request("/v1/test/echo", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    });
    expect(chunked.status).toBe(413);
    const fine = await api.request("/v1/test/echo", { method: "POST", json: { a: 1 } });
    expect(await fine.json()).toEqual({ a: 1 });
    // Forms on the hosted pages, and paths with no route, meet the same limit with the same answer.
    for (const path of ["/auth/forgot-password", "/nowhere"]) {
      const form = await api.request(path, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `email=${"x".repeat(4096)}`,
      });
      expect(form.status).toBe(413);
      expect((await readProblem(form)).code).toBe("payload_too_large");
    }
  });

  test("an unknown route is a 404 problem and an unknown method a 405 with Allow", async () => {
    const missing = await api.request("/v1/nothing-here");
    expect(missing.status).toBe(404);
    expect((await readProblem(missing)).code).toBe("not_found");
    const wrongMethod = await api.request("/readyz", { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET");
    expect((await readProblem(wrongMethod)).code).toBe("method_not_allowed");
  });

  test("an unexpected exception is a 500 with only the request id", async () => {
    const { app, errors: logged } = appKeepingErrors(api);
    app.post("/v1/test/boom", () => {
      throw new Error("db password=hunter2 at 10.1.2.3");
    });
    const response = await app.request("/v1/test/boom", { method: "POST" }, { remoteAddress: "192.0.2.1" });
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("10.1.2.3");
    expect(text).not.toContain("at ");
    const problem = JSON.parse(text);
    expect(problem.code).toBe("internal_error");
    expect(problem.requestId).toBe(response.headers.get("x-request-id"));
    expect(logged.join("\n")).toContain(problem.requestId);
  });

  test("a write that lost a race its service did not answer is a 409 conflict, still logged as an error", async () => {
    const { app, errors: logged } = appKeepingErrors(api);
    // A real unique violation from the database, as a check-then-insert that lost its race meets.
    app.post("/v1/test/lost-race", async () => {
      await api.platform.db.transaction(async (tx) => {
        await tx.execute(sql`create temporary table lost_race (id int primary key) on commit drop`);
        await tx.execute(sql`insert into lost_race values (1), (1)`);
      });
      return new Response(null, { status: 204 });
    });
    const response = await app.request("/v1/test/lost-race", { method: "POST" }, { remoteAddress: "192.0.2.1" });
    expect(response.status).toBe(409);
    const problem = await readProblem(response);
    expect(problem.code).toBe("conflict");
    expect(logged.join("\n")).toContain("concurrent change not answered by its service");
    expect(logged.join("\n")).toContain("23505");
  });
});

describe("readiness", () => {
  test("is 503 while migrations are pending and while the database does not answer", async () => {
    const folder = mkdtempSync(join(tmpdir(), "burrow-migrations-"));
    try {
      cpSync(DEFAULT_MIGRATIONS_FOLDER, folder, { recursive: true });
      const database = await createDatabase({ migrationsFolder: folder });
      await database.migrate();
      // A newer migration arrives with the code but has not been applied yet.
      const journalPath = join(folder, "meta", "_journal.json");
      const journal = JSON.parse(readFileSync(journalPath, "utf8"));
      journal.entries.push({
        ...journal.entries.at(-1),
        idx: journal.entries.length,
        when: Date.now() + 1000,
        tag: "9999_pending",
      });
      writeFileSync(journalPath, JSON.stringify(journal));
      const config = loadConfig({
        NODE_ENV: "test",
        BURROW_SECRET: "x".repeat(40),
        BURROW_ENCRYPTION_KEYS: `v1:${Buffer.alloc(32, 1).toString("base64")}`,
      });
      const app = createApp(composePlatform({ config, database, log: silentLogger }));
      const pending = await app.request("/readyz");
      expect(pending.status).toBe(503);
      expect((await readProblem(pending)).detail).toContain("migrations");
      await database.close();
      const down = await app.request("/readyz");
      expect(down.status).toBe(503);
      expect((await readProblem(down)).code).toBe("service_unavailable");
      expect((await app.request("/healthz")).status).toBe(200);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
