import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { loadConfig, silentLogger } from "@burrow/platform-core";
import { createTestDatabase, type TestDatabase } from "@burrow/platform-core/testing";
import { organizationMemberships, roles } from "@burrow/platform-rbac/schema";
import { composePlatform, type Platform } from "@burrow/platform-http";
import { TEST_ENV } from "./helpers.ts";

const ENV = { ...TEST_ENV, LOG_LEVEL: "info" };

// Two API processes on one PostgreSQL (PGlite lives inside one process: reported as skipped there).
describe.skipIf(process.env.DATABASE_URL === undefined)("two API processes sharing one PostgreSQL", () => {
  let database: TestDatabase;
  let here: Platform;
  let other: ReturnType<typeof Bun.spawn>;
  let otherUrl: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    here = composePlatform({
      config: loadConfig({ ...ENV, DATABASE_URL: database.url! }),
      database,
      log: silentLogger,
    });
    other = Bun.spawn(["bun", "run", `${import.meta.dir}/../src/server.ts`], {
      env: { ...process.env, ...ENV, DATABASE_URL: database.url!, PORT: "0", ADMIN_PORT: "off" },
      stdout: "ignore",
      stderr: "pipe",
    });
    // The other process says where it listens once it is up.
    const reader = (other.stderr as ReadableStream<Uint8Array>).getReader();
    let seen = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the second process stopped: ${seen}`);
      seen += new TextDecoder().decode(value);
      // The start log names the bind address apart from PUBLIC_URL; this process is reached directly.
      const match = /"listening":"([^"]+)"/.exec(seen);
      if (match !== null) {
        otherUrl = `http://${match[1]!}`;
        break;
      }
    }
    reader.releaseLock();
  });
  afterAll(async () => {
    other?.kill("SIGTERM");
    await other?.exited;
    await database?.close();
  });

  test("a role change made through one is enforced by the other within 100 ms", async () => {
    const post = async (path: string, json: unknown, token?: string) =>
      fetch(`${otherUrl}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-burrow-client": "bearer",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(json),
      });
    const signUp = async (email: string) =>
      (await (await post("/v1/auth/sign-up", { email, password: "purple submarine garden" })).json()) as {
        user: { id: string };
        sessionToken: string;
      };
    const owner = await signUp("two-owner@example.com");
    const member = await signUp("two-member@example.com");
    const orgId = ((await (await post("/v1/orgs", { name: "Shared" }, owner.sessionToken)).json()) as { id: string })
      .id;
    const [memberRole] = await here.db.select().from(roles).where(eq(roles.key, "member"));
    await here.db.transaction(async (tx) => {
      await tx
        .insert(organizationMemberships)
        .values({ orgId, userId: member.user.id, roleId: memberRole!.id, joinedAt: new Date() });
      await here.rbac.resolver.changed(tx, member.user.id);
    });
    const members = () =>
      fetch(`${otherUrl}/v1/orgs/${orgId}/members`, { headers: { authorization: `Bearer ${member.sessionToken}` } });
    // Wait for the other process to see the membership (its cache now holds "member").
    const seenAt = performance.now();
    while ((await members()).status !== 200)
      if (performance.now() - seenAt > 2000) throw new Error("membership never seen");

    // The change, made here; then ask the other process until it refuses (requests only, no sleeping).
    await here.rbac.organizations.changeRole(owner.user.id, orgId, member.user.id, "viewer", {});
    const changedAt = performance.now();
    let enforcedAfter = Number.POSITIVE_INFINITY;
    while (performance.now() - changedAt < 2000) {
      if ((await members()).status === 403) {
        enforcedAfter = performance.now() - changedAt;
        break;
      }
    }
    expect(enforcedAfter).toBeLessThan(100);
  });
});
