import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { UserId } from "@burrow/platform-core";
import { createAdminApp } from "../src/app.tsx";
import { Browser } from "./console.ts";
import {
  createTestApi,
  grantPlatformPermissions,
  signUpUser,
  type TestApi,
  type TestUser,
} from "../../api/test/helpers.ts";

describe("the admin console's roles and elevations", () => {
  let api: TestApi;
  let admin: ReturnType<typeof createAdminApp>;
  let bossId: string;
  let eligible: TestUser;
  let browser: Browser;
  beforeAll(async () => {
    api = await createTestApi({ ADMIN_URL: "http://localhost:3001" });
    admin = createAdminApp(api.platform);
    ({ userId: bossId } = await api.platform.operator.createAdmin("boss@example.com"));
    eligible = await signUpUser(api);
    // The console's own sign-in is tested elsewhere: here an administrator's console session is made directly.
    const { token } = await api.platform.auth.sessions.create(api.database.db, {
      userId: bossId as UserId,
      methods: ["password", "totp"],
      request: {},
      audience: "admin",
    });
    browser = new Browser(admin);
    browser.cookies.set("burrow_admin", token);
  });
  afterAll(() => api.close());

  test("shows platform roles and who holds them, eligibilities, and decides pending elevations", async () => {
    const { elevations } = api.platform.rbac;
    await elevations.makeEligible(
      bossId,
      null,
      { userId: eligible.id, role: "support", approverPermission: "users:manage" },
      {},
    );
    const first = await elevations.request(eligible.id, { role: "support", reason: "ticket 42" }, {});
    expect(first.status).toBe("pending");

    await browser.get("/roles");
    expect(browser.lastHtml).toContain("Platform administrator");
    expect(browser.lastHtml).toContain("boss@example.com");
    expect(browser.lastHtml).toContain("needs <code>users:manage</code>");
    expect(browser.lastHtml).toContain("ticket 42");
    const denied = await browser.post(`/roles/elevations/${first.id}/deny`, {});
    expect(denied.headers.get("location")).toBe("/roles?done=denied");
    expect(await api.platform.rbac.resolver.can(eligible.id, "audit:read")).toBe(false);
    const audit = await api.platform.auditTrail.search(bossId, { action: "elevation.denied", targetId: first.id });
    expect(audit.data[0]?.actorId).toBe(bossId);

    const second = await elevations.request(eligible.id, { role: "support", reason: "ticket 43" }, {});
    await browser.get("/roles?status=pending");
    expect(browser.lastHtml).toContain("ticket 43");
    expect(browser.lastHtml).not.toContain("ticket 42");
    await browser.post(`/roles/elevations/${second.id}/approve`, {});
    expect(await api.platform.rbac.resolver.can(eligible.id, "audit:read")).toBe(true);
    // Decided already: a second decision is a 404 page, and changes nothing.
    expect((await browser.post(`/roles/elevations/${second.id}/deny`, {})).status).toBe(404);
    expect(await api.platform.rbac.resolver.can(eligible.id, "audit:read")).toBe(true);
  });

  test("the holder of an elevation cannot decide their own, and a user without users:read sees no roles", async () => {
    const viewer = await signUpUser(api);
    await expect(api.platform.rbac.roles.platformRoles(viewer.id)).rejects.toMatchObject({ code: "forbidden" });
    await expect(api.platform.rbac.elevations.search(viewer.id)).rejects.toMatchObject({ code: "forbidden" });
    const pending = await api.platform.rbac.elevations.request(eligible.id, { role: "support", reason: "again" }, {});
    await expect(api.platform.rbac.elevations.deny(eligible.id, pending.id, {})).rejects.toMatchObject({
      code: "forbidden",
    });
  });

  test("grants and takes away platform roles from a user's page, audited, never one's own; later, after a step-up", async () => {
    const helper = await signUpUser(api);
    await browser.get(`/users/${helper.id}`);
    expect(browser.lastHtml).toContain("No platform role: an ordinary account.");
    const granted = await browser.post(`/users/${helper.id}/platform-roles`, { role: "support" });
    expect(granted.headers.get("location")).toBe(`/users/${helper.id}?done=role-granted`);
    expect(await api.platform.rbac.roles.platformRolesOf(bossId, helper.id)).toEqual(["support"]);
    expect(await api.platform.rbac.resolver.can(helper.id, "audit:read")).toBe(true);
    const entry = await api.platform.auditTrail.search(bossId, {
      action: "role.platform_granted",
      targetId: helper.id,
    });
    expect(entry.data[0]?.actorId).toBe(bossId);

    await browser.get(`/users/${helper.id}`);
    await browser.post(`/users/${helper.id}/platform-roles/support/revoke`, {});
    expect(await api.platform.rbac.roles.platformRolesOf(bossId, helper.id)).toEqual([]);
    expect(await api.platform.rbac.resolver.can(helper.id, "audit:read")).toBe(false);

    await browser.get(`/users/${bossId}`);
    expect(browser.lastHtml).not.toContain(`/users/${bossId}/platform-roles`);
    expect((await browser.post(`/users/${bossId}/platform-roles/platform_admin/revoke`, {})).status).toBe(403);
    expect((await browser.post(`/users/${helper.id}/platform-roles`, { role: "no_such_role" })).status).toBe(400);

    api.clock.advance(11 * 60_000);
    await browser.get(`/users/${helper.id}`);
    const later = await browser.post(`/users/${helper.id}/platform-roles`, { role: "support" });
    expect(later.headers.get("location")).toBe(`/reauthenticate?next=${encodeURIComponent(`/users/${helper.id}`)}`);
    expect(await api.platform.rbac.roles.platformRolesOf(bossId, helper.id)).toEqual([]);
  });

  test("makes a user eligible for a platform role from their page and removes it there or on the roles page; bad input changes nothing", async () => {
    const { elevations } = api.platform.rbac;
    const helper = await signUpUser(api);
    const eligibleFor = async () =>
      (await elevations.eligibilities(bossId, null)).filter((eligibility) => eligibility.userId === helper.id);
    await browser.get(`/users/${helper.id}`);
    expect(browser.lastHtml).toContain("Not eligible to elevate into any platform role.");

    // Each refusal is a page that says why, and no eligibility appears.
    const refusals: [Record<string, string>, number, string][] = [
      [{ role: "platform_admin", approverPermission: "" }, 400, "name the permission its approvers must hold"],
      [{ role: "support", approverPermission: "not a permission" }, 400, "approverPermission"],
      [{ role: "no_such_role", approverPermission: "" }, 400, ""],
    ];
    for (const [fields, status, says] of refusals) {
      const refused = await browser.post(`/users/${helper.id}/eligibilities`, fields);
      expect(refused.status).toBe(status);
      expect(await refused.text()).toContain(says);
      await browser.get(`/users/${helper.id}`);
    }
    const self = await browser.post(`/users/${bossId}/eligibilities`, { role: "support", approverPermission: "" });
    expect(self.status).toBe(403);
    await browser.get(`/users/${helper.id}`);
    expect(await eligibleFor()).toEqual([]);
    expect((await elevations.eligibilities(bossId, null)).some((row) => row.userId === bossId)).toBe(false);

    const granted = await browser.post(`/users/${helper.id}/eligibilities`, {
      role: "support",
      approverPermission: "users:manage",
    });
    expect(granted.headers.get("location")).toBe(`/users/${helper.id}?done=eligibility-granted`);
    const [eligibility] = await eligibleFor();
    expect(eligibility).toMatchObject({ role: "support", approverPermission: "users:manage", createdBy: bossId });
    const audit = await api.platform.auditTrail.search(bossId, {
      action: "elevation.eligibility_granted",
      targetId: helper.id,
    });
    expect(audit.data[0]?.actorId).toBe(bossId);
    await browser.get(`/users/${helper.id}?done=eligibility-granted`);
    expect(browser.lastHtml).toContain("needs <code>users:manage</code>");
    expect(browser.lastHtml).toContain(`/users/${helper.id}/eligibilities/${eligibility!.id}/revoke`);

    // An eligibility that starts at once, elevated into, then removed from the user's page: the elevation ends.
    await browser.post(`/users/${helper.id}/eligibilities`, { role: "support", approverPermission: "" });
    expect((await eligibleFor())[0]?.approverPermission).toBeNull();
    await elevations.request(helper.id, { role: "support", reason: "ticket 77" }, {});
    expect(await api.platform.rbac.resolver.can(helper.id, "audit:read")).toBe(true);
    await browser.get(`/users/${helper.id}`);
    const removed = await browser.post(`/users/${helper.id}/eligibilities/${eligibility!.id}/revoke`, {});
    expect(removed.headers.get("location")).toBe(`/users/${helper.id}?done=eligibility-revoked`);
    expect(await eligibleFor()).toEqual([]);
    expect(await api.platform.rbac.resolver.can(helper.id, "audit:read")).toBe(false);
    // Removed already: a 404 page.
    expect((await browser.post(`/users/${helper.id}/eligibilities/${eligibility!.id}/revoke`, {})).status).toBe(404);

    // From the roles page.
    await browser.post(`/users/${helper.id}/eligibilities`, { role: "support", approverPermission: "users:manage" });
    const [again] = await eligibleFor();
    await browser.get("/roles");
    expect(browser.lastHtml).toContain(`/roles/eligibilities/${again!.id}/revoke`);
    const fromRoles = await browser.post(`/roles/eligibilities/${again!.id}/revoke`, {});
    expect(fromRoles.headers.get("location")).toBe("/roles?done=eligibility-revoked");
    expect(await eligibleFor()).toEqual([]);
  });

  test("an operator who may only read users sees eligibilities but cannot grant or remove one", async () => {
    const target = await signUpUser(api);
    await api.platform.rbac.elevations.makeEligible(
      bossId,
      null,
      { userId: target.id, role: "support", approverPermission: "users:manage" },
      {},
    );
    const [eligibility] = (await api.platform.rbac.elevations.eligibilities(bossId, null)).filter(
      (row) => row.userId === target.id,
    );
    const reader = await signUpUser(api);
    await grantPlatformPermissions(api, reader.id, ["users:read"]);
    const { token } = await api.platform.auth.sessions.create(api.database.db, {
      userId: reader.id as UserId,
      methods: ["password", "totp"],
      request: {},
      audience: "admin",
    });
    const readerBrowser = new Browser(admin);
    readerBrowser.cookies.set("burrow_admin", token);
    await readerBrowser.get(`/users/${target.id}`);
    expect(readerBrowser.lastHtml).toContain("needs <code>users:manage</code>");
    expect(readerBrowser.lastHtml).not.toContain("Make eligible");
    expect(readerBrowser.lastHtml).not.toContain("/eligibilities/");
    expect(
      (await readerBrowser.post(`/users/${target.id}/eligibilities`, { role: "support", approverPermission: "" }))
        .status,
    ).toBe(403);
    expect((await readerBrowser.post(`/roles/eligibilities/${eligibility!.id}/revoke`, {})).status).toBe(403);
    expect(
      (await api.platform.rbac.elevations.eligibilities(bossId, null)).filter((row) => row.userId === target.id),
    ).toEqual([eligibility!]);
  });
});
