import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { desc, eq } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import { decodeJwt } from "jose";
import { ConfigError, PlatformError, createWorker, silentLogger } from "@burrow/platform-core";
import { createTestDatabase, type TestDatabase } from "@burrow/platform-core/testing";
import { type Burrow, type BurrowEnv, createBurrow } from "@burrow/platform-http";
import { BEARER_CLIENT, PASSWORD, TEST_ENV } from "./helpers.ts";

// A builder's own Hono app: Burrow mounted under /auth, the builder's routes guarded by it.
describe("Burrow embedded in a builder's Hono app under /auth", () => {
  let burrow: Burrow;
  let pg: TestDatabase | undefined;
  let dataDir: string;
  const app = new Hono<BurrowEnv>();
  const signedUp: string[] = [];

  const call = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const { json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (json !== undefined) headers.set("content-type", "application/json");
    return app.request(path, {
      ...rest,
      headers,
      ...(json === undefined ? {} : { method: rest.method ?? "POST", body: JSON.stringify(json) }),
    });
  };
  const signIn = async (email: string) => {
    const response = await call("/auth/v1/auth/sign-in", {
      headers: BEARER_CLIENT,
      json: { email, password: PASSWORD },
    });
    expect(response.status).toBe(200);
    return { authorization: `Bearer ${((await response.json()) as { sessionToken: string }).sessionToken}` };
  };
  /** Signs up with verification on, and verifies through the link mailed to the address. */
  const signUpAndVerify = async (email: string) => {
    expect((await call("/auth/v1/auth/sign-up", { json: { email, password: PASSWORD } })).status).toBe(202);
    const [message] = await burrow.email.outbox.list(burrow.platform.db, { to: email });
    const text = (await burrow.email.outbox.get(burrow.platform.db, message!.id))!.text;
    // The link carries the builder's prefix: the hosted page is /auth + /auth/verify-email.
    const link = new URL(/https:\/\/app\.example\.com\S+/.exec(text)![0]);
    expect(link.pathname).toBe("/auth/auth/verify-email");
    const page = await call(link.pathname + link.search);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('action="verify-email"');
    const verified = await call("/auth/v1/auth/email/verify", {
      json: { token: link.searchParams.get("token"), password: PASSWORD },
    });
    expect(verified.status).toBe(200);
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "burrow-embedding-"));
    pg = process.env.DATABASE_URL ? await createTestDatabase({ empty: true }) : undefined;
    burrow = await createBurrow({
      ...(pg === undefined ? { dataDir } : { databaseUrl: pg.url! }),
      publicUrl: "https://app.example.com",
      basePath: "/auth",
      env: { ...TEST_ENV, BURROW_EMAIL_VERIFICATION: "required" },
      permissions: { "projects:write": "Create and edit projects" },
      hooks: {
        afterSignUp: ({ userId }) => {
          signedUp.push(userId);
        },
        beforeSignIn: ({ user }) => {
          if (user.email?.startsWith("blocked")) throw new PlatformError("forbidden", { detail: "Not this one." });
          if (user.email?.startsWith("broken")) throw new Error("the builder's bug");
        },
        tokenClaims: () => ({ plan: "pro", permissions: ["*"], sub: "usr_someone_else" }),
      },
      worker: false,
      log: silentLogger,
    });
    burrow.mount(app);
    app.use("/projects/*", burrow.requireSession());
    app.get("/projects/mine", (c) => c.json({ owner: c.get("burrow").user.id, session: c.get("burrow").session.id }));
    app.post(
      "/orgs/:orgId/projects",
      burrow.requirePermission("projects:write", { org: (c) => c.req.param("orgId") }),
      (c) => c.json({ created: true, by: c.get("burrow").user.id }, 201),
    );
  });
  afterAll(async () => {
    await burrow?.close();
    await pg?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test("sign up, verify by the mailed link, sign in, and pass the builder's session guard", async () => {
    await signUpAndVerify("ada@example.com");
    const bearer = await signIn("ada@example.com");
    const mine = await call("/projects/mine", { headers: bearer });
    expect(mine.status).toBe(200);
    const body = (await mine.json()) as { owner: string; session: string };
    expect(body.owner).toMatch(/^usr_/);
    expect(body.session).toMatch(/^ses_/);
    // Without a session the builder's route answers Burrow's problem document.
    const anonymous = await call("/projects/mine");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("content-type")).toContain("application/problem+json");
    expect(((await anonymous.json()) as { code: string }).code).toBe("unauthenticated");
    // A cookie-authenticated write from another site is refused by the guard's CSRF check.
    const forged = await call("/projects/mine", { method: "POST", headers: { origin: "https://evil.example" } });
    expect([401, 403, 404]).toContain(forged.status);
  });

  test("requirePermission checks the builder's permission in the organization", async () => {
    await signUpAndVerify("owner@example.com");
    await signUpAndVerify("stranger@example.com");
    const owner = await signIn("owner@example.com");
    const created = await call("/auth/v1/orgs", { headers: owner, json: { name: "Acme" } });
    expect(created.status).toBe(201);
    // Mounted under a prefix, the API's answers are still never cached.
    expect(created.headers.get("cache-control")).toBe("no-store");
    const orgId = ((await created.json()) as { id: string }).id;
    const allowed = await call(`/orgs/${orgId}/projects`, { method: "POST", headers: owner });
    expect(allowed.status).toBe(201);
    const stranger = await signIn("stranger@example.com");
    const refused = await call(`/orgs/${orgId}/projects`, { method: "POST", headers: stranger });
    expect(refused.status).toBe(404);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    // The builder's permission is in the catalogue the API serves.
    const catalogue = (await (await call("/auth/v1/permissions", { headers: owner })).json()) as unknown;
    expect(JSON.stringify(catalogue)).toContain("projects:write");
  });

  test("the OpenAPI document and /docs name the prefix", async () => {
    const document = (await (await call("/auth/openapi.json")).json()) as { servers: { url: string }[] };
    expect(document.servers).toEqual([{ url: "/auth" }]);
    const docs = await (await call("/auth/docs")).text();
    const stylesheet = /href="(docs\/assets\/[^"]+\.css)"/.exec(docs)![1]!;
    expect(docs).toContain('data-spec-url="openapi.json"');
    // Resolved against the page's own URL, the asset is served under the prefix.
    const asset = await call(new URL(stylesheet, "http://x/auth/docs").pathname);
    expect(asset.status).toBe(200);
  });

  test("hooks: afterSignUp runs as a job, beforeSignIn can refuse, tokenClaims adds claims Burrow's win over", async () => {
    await signUpAndVerify("hooked@example.com");
    const worker = createWorker({
      db: burrow.platform.db,
      clock: burrow.platform.clock,
      definitions: burrow.platform.jobs,
    });
    await worker.runOnce();
    const hooked = await burrow.auth.users.findByEmail(burrow.platform.db, "hooked@example.com");
    expect(signedUp).toContain(hooked!.id);

    await signUpAndVerify("blocked@example.com");
    const blocked = await call("/auth/v1/auth/sign-in", { json: { email: "blocked@example.com", password: PASSWORD } });
    expect(blocked.status).toBe(403);
    expect(((await blocked.json()) as { detail: string }).detail).toBe("Not this one.");
    await signUpAndVerify("broken@example.com");
    const broken = await call("/auth/v1/auth/sign-in", { json: { email: "broken@example.com", password: PASSWORD } });
    expect(broken.status).toBe(403);
    expect(JSON.stringify(await broken.json())).not.toContain("the builder's bug");

    const token = await call("/auth/v1/auth/token", {
      json: { grantType: "password", email: "hooked@example.com", password: PASSWORD },
    });
    expect(token.status).toBe(200);
    const claims = decodeJwt(((await token.json()) as { accessToken: string }).accessToken);
    expect(claims.plan).toBe("pro");
    // Burrow's own claims are not the hook's to set: this user holds no platform permission.
    expect(claims.permissions).toBeUndefined();
    expect(claims.sub).toBe(hooked!.id);
  });

  test("served by Bun.serve behind the builder's own router, Burrow still sees the client's address", async () => {
    await signUpAndVerify("served@example.com");
    // As docs/embedding.md shows it: the builder's own router in front, Burrow under /auth.
    const server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request, bunServer) =>
        new URL(request.url).pathname.startsWith("/auth/") ? app.fetch(request, bunServer) : new Response("mine"),
    });
    try {
      expect(await (await fetch(`http://127.0.0.1:${server.port}/elsewhere`)).text()).toBe("mine");
      const response = await fetch(`http://127.0.0.1:${server.port}/auth/v1/auth/sign-in`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "served@example.com", password: PASSWORD }),
      });
      expect(response.status).toBe(200);
      const [entry] = await burrow.platform.db
        .select()
        .from(auditLogs)
        .where(eq(auditLogs.action, "user.signed_in"))
        .orderBy(desc(auditLogs.id))
        .limit(1);
      // Stored as an HMAC of the address (BURROW_STORE_RAW_IP is off): present, and not the address.
      expect(entry!.ip).toMatch(/^[A-Za-z0-9_-]{16,}$/);
      expect(entry!.ip).not.toBe("127.0.0.1");
    } finally {
      await server.stop(true);
    }
  });

  test("mounting twice, and asking for a permission nobody declared, fail at the call", () => {
    expect(() => burrow.mount(app)).toThrow(/already mounted at \/auth/);
    expect(() => burrow.requirePermission("billing:write")).toThrow(/no such permission/);
  });
});

describe("createBurrow refuses a wrong setting at start-up, naming it", () => {
  const refused = async (options: Parameters<typeof createBurrow>[0], message: RegExp) => {
    const attempt = createBurrow({ env: { ...TEST_ENV }, worker: false, log: silentLogger, ...options });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(message);
  };

  test("database URL, public URL, base path, permissions", async () => {
    await refused({ databaseUrl: "mysql://root@localhost/app" }, /databaseUrl must be a PostgreSQL URL/);
    await refused({ publicUrl: "https://example.com/app" }, /PUBLIC_URL must be an origin.*BURROW_BASE_PATH/);
    await refused({ publicUrl: "example.com" }, /PUBLIC_URL must be an origin with its scheme/);
    await refused({ basePath: "auth/" }, /BURROW_BASE_PATH must be a path such as \/auth/);
    await refused({ permissions: { "users:read": "Mine now" } }, /"users:read" is one of Burrow's own permissions/);
    await refused({ permissions: { "Projects Write": "x" } }, /not a permission name/);
  });
});

describe("burrow worker: the job workers as a process of their own", () => {
  test("sends what the web process queued, then stops cleanly on SIGTERM", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "burrow-worker-"));
    const pg = process.env.DATABASE_URL ? await createTestDatabase({ empty: true }) : undefined;
    const database = pg === undefined ? { BURROW_DATA_DIR: dataDir } : { DATABASE_URL: pg.url! };
    const env = { ...TEST_ENV, BURROW_EMAIL_VERIFICATION: "required", ...database };
    try {
      // The web process queues a verification email and (worker: false) sends nothing itself.
      const web = await createBurrow({ env, worker: false, log: silentLogger });
      expect(
        (
          await web.routes.request("/v1/auth/sign-up", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ email: "queued@example.com", password: PASSWORD }),
          })
        ).status,
      ).toBe(202);
      await web.close();

      const entry = join(import.meta.dir, "../src/cli/burrow.ts");
      const worker = Bun.spawn([process.execPath, entry, "worker"], {
        env: { ...process.env, ...env },
        stdout: "pipe",
        stderr: "pipe",
      });
      // Read the worker's log (standard error) until the queued mail has gone out: the development
      // mailbox logs each delivery.
      const decoder = new TextDecoder();
      let log = "";
      const reader = worker.stderr.getReader();
      while (!log.includes("email delivered to the development mailbox")) {
        const { value, done } = await reader.read();
        if (done) break;
        log += decoder.decode(value);
      }
      reader.releaseLock();
      expect(log).toContain("queued@example.com");
      worker.kill("SIGTERM");
      expect(await worker.exited).toBe(0);
      const output = await new Response(worker.stdout).text();
      expect(output).toContain("worker started");
      expect(output).toContain("worker stopped");
    } finally {
      await pg?.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
