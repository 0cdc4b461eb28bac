import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { createAuditLog, newId, PlatformError, type DatabaseHandle } from "@burrow/platform-core";
import { createTestClock, createTestDatabase } from "@burrow/platform-core/testing";
import { users } from "@burrow/platform-auth/schema";
import { createGuards, createRbac, type Rbac } from "./index.ts";

describe("guards for builders' routes", () => {
  let handle: DatabaseHandle;
  let rbac: Rbac;
  let app: Hono;
  let orgId: string;
  const clock = createTestClock();
  const owner = newId("user");
  const stranger = newId("user");
  beforeAll(async () => {
    handle = await createTestDatabase();
    rbac = createRbac({
      db: handle.db,
      clock,
      audit: createAuditLog({ clock, secret: "s".repeat(32), storeRawIp: false }),
      permissions: { "projects:write": "Edit projects" },
    });
    for (const id of [owner, stranger])
      await handle.db.insert(users).values({
        id,
        email: `${id}@example.com`,
        emailNormalized: `${id}@example.com`,
        createdAt: clock.now(),
        updatedAt: clock.now(),
      });
    orgId = (await rbac.organizations.create(owner, { name: "Builder" }, {})).id;
    const { requirePermission, requireOrgMember } = createGuards({
      resolver: rbac.resolver,
      userId: (c) => c.req.header("x-user"),
    });
    app = new Hono()
      .post("/orgs/:orgId/projects", requirePermission("projects:write", { org: (c) => c.req.param("orgId") }), (c) =>
        c.text("created"),
      )
      .get("/orgs/:orgId/home", requireOrgMember({ org: (c) => c.req.param("orgId") }), (c) => c.text("welcome"));
    app.onError((error, c) =>
      c.text(
        error instanceof PlatformError ? error.code : "error",
        error instanceof PlatformError ? (error.status as 400) : 500,
      ),
    );
  });
  afterAll(() => handle.close());

  test("requirePermission and requireOrgMember let members through and keep others out", async () => {
    const as = (user: string | undefined, method: string, path: string) =>
      app.request(path, { method, headers: user === undefined ? {} : { "x-user": user } });
    expect((await as(owner, "POST", `/orgs/${orgId}/projects`)).status).toBe(200);
    expect((await as(owner, "GET", `/orgs/${orgId}/home`)).status).toBe(200);
    expect(await (await as(stranger, "POST", `/orgs/${orgId}/projects`)).text()).toBe("not_found");
    expect((await as(stranger, "GET", `/orgs/${orgId}/home`)).status).toBe(404);
    expect(await (await as(undefined, "POST", `/orgs/${orgId}/projects`)).text()).toBe("unauthenticated");
    expect(rbac.catalogue["projects:write"]).toBe("Edit projects");
  });
});
