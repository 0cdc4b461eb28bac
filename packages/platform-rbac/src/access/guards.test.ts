import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { PlatformError, type DatabaseHandle } from "@burrow/platform-core";
import { createGuards, type Rbac } from "../index.ts";
import { createTestRbac } from "../test-rbac.ts";

describe("guards for builders' routes", () => {
  let handle: DatabaseHandle;
  let rbac: Rbac;
  let app: Hono;
  let orgId: string;
  let owner: string;
  let stranger: string;
  beforeAll(async () => {
    const test = await createTestRbac({ permissions: { "projects:write": "Edit projects" } });
    ({ handle, rbac } = test);
    owner = await test.newUser("owner");
    stranger = await test.newUser("stranger");
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
