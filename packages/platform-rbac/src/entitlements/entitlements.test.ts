import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { PlatformError, type DatabaseHandle } from "@burrow/platform-core";
import { createTestClock } from "@burrow/platform-core/testing";
import { createGuards, type Rbac } from "../index.ts";
import { createTestRbac } from "../test-rbac.ts";

describe("entitlements", () => {
  let handle: DatabaseHandle;
  let rbac: Rbac;
  const clock = createTestClock();
  let user: string;
  let outsider: string;
  let orgId: string;
  beforeAll(async () => {
    const t = await createTestRbac({ clock });
    ({ handle, rbac } = t);
    user = await t.newUser("subscriber");
    outsider = await t.newUser("outsider");
    orgId = (await rbac.organizations.create(user, { name: "Plans" }, {})).id;
    await rbac.entitlements.definePlan({
      key: "free",
      name: "Free",
      features: { projects: { kind: "limit", limit: 3 }, api: { kind: "boolean" } },
    });
    await rbac.entitlements.definePlan({
      key: "team",
      name: "Team",
      features: { projects: { kind: "limit", limit: 50 }, sso: { kind: "boolean" }, audit_export: { kind: "boolean" } },
    });
  });
  afterAll(() => handle.close());

  test("the user's and the organization's plans merge: any plan turns a feature on, the largest limit wins", async () => {
    await rbac.entitlements.setSubscription({ type: "user", id: user }, { plan: "free", status: "active" });
    expect(await rbac.entitlements.resolve({ userId: user })).toEqual({
      projects: { enabled: true, limit: 3 },
      api: { enabled: true },
    });
    await rbac.entitlements.setSubscription(
      { type: "organization", id: orgId },
      { plan: "team", status: "trialing", trialEndsAt: new Date(clock.now().getTime() + 14 * 86_400_000) },
    );
    expect(await rbac.entitlements.resolve({ userId: user, orgId })).toEqual({
      projects: { enabled: true, limit: 50 },
      api: { enabled: true },
      sso: { enabled: true },
      audit_export: { enabled: true },
    });
    clock.advance(14 * 86_400_000);
    expect((await rbac.entitlements.resolve({ userId: user, orgId })).sso).toBeUndefined();
    // Canceled: the paid period still counts, then no more.
    await rbac.entitlements.setSubscription(
      { type: "organization", id: orgId },
      { plan: "team", status: "canceled", periodEndsAt: new Date(clock.now().getTime() + 86_400_000) },
    );
    expect((await rbac.entitlements.resolve({ userId: user, orgId })).sso).toEqual({ enabled: true });
    clock.advance(86_400_000);
    expect((await rbac.entitlements.resolve({ userId: user, orgId })).sso).toBeUndefined();
  });

  test("overrides: grant, limit, and deny that always wins; expired overrides stop counting", async () => {
    await rbac.entitlements.setSubscription({ type: "organization", id: orgId }, { plan: "team", status: "active" });
    await rbac.entitlements.addOverride(
      { type: "organization", id: orgId },
      { feature: "projects", effect: "limit", limit: 500, reason: "enterprise pilot" },
    );
    expect((await rbac.entitlements.resolve({ userId: user, orgId })).projects).toEqual({ enabled: true, limit: 500 });
    const deny = await rbac.entitlements.addOverride(
      { type: "user", id: user },
      {
        feature: "sso",
        effect: "deny",
        reason: "abuse review",
        expiresAt: new Date(clock.now().getTime() + 3_600_000),
      },
    );
    await rbac.entitlements.addOverride(
      { type: "organization", id: orgId },
      { feature: "sso", effect: "grant", reason: "contract" },
    );
    expect((await rbac.entitlements.resolve({ userId: user, orgId })).sso).toEqual({ enabled: false });
    clock.advance(3_600_000);
    expect((await rbac.entitlements.resolve({ userId: user, orgId })).sso).toEqual({ enabled: true });
    await rbac.entitlements.removeOverride(deny);
    await expect(rbac.entitlements.removeOverride(deny)).rejects.toMatchObject({ code: "not_found" });
    await expect(
      rbac.entitlements.addOverride({ type: "user", id: user }, { feature: "nope", effect: "grant", reason: "x" }),
    ).rejects.toMatchObject({ code: "validation_failed" });
    await expect(
      rbac.entitlements.setSubscription({ type: "user", id: user }, { plan: "nope", status: "active" }),
    ).rejects.toMatchObject({ code: "validation_failed" });
  });

  test("requireFeature guards a builder's route", async () => {
    const { requireFeature } = createGuards({
      resolver: rbac.resolver,
      entitlements: rbac.entitlements,
      userId: (c) => c.req.header("x-user"),
    });
    const app = new Hono()
      .get("/orgs/:orgId/sso", requireFeature("sso", { org: (c) => c.req.param("orgId") }), (c) =>
        c.text("configure sso"),
      )
      .get("/export", requireFeature("audit_export"), (c) => c.text("export"));
    app.onError((error, c) =>
      c.text(
        error instanceof PlatformError ? error.code : "error",
        error instanceof PlatformError ? (error.status as 400) : 500,
      ),
    );
    expect((await app.request(`/orgs/${orgId}/sso`, { headers: { "x-user": user } })).status).toBe(200);
    expect((await app.request(`/orgs/${orgId}/sso`, { headers: { "x-user": outsider } })).status).toBe(404);
    // Without the organization, the user's own free plan has no audit export.
    expect((await app.request("/export", { headers: { "x-user": user } })).status).toBe(403);
  });
});
