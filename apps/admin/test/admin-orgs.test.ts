import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { createAdminApp } from "../src/app.tsx";
import { createTestConsole, operatorWith, signInWithCode } from "./console.ts";
import { BEARER_CLIENT, signUpUser, type TestApi, type TestUser } from "../../api/test/helpers.ts";

describe("the admin console's organizations", () => {
  let api: TestApi;
  let admin: ReturnType<typeof createAdminApp>;
  let operator: TestUser;
  let owner: TestUser;
  let secret: string;
  let orgId: string;
  beforeAll(async () => {
    ({ api, admin } = await createTestConsole());
    ({ user: operator, secret } = await operatorWith(api, [
      "org:read",
      "members:read",
      "members:update",
      "members:remove",
      "members:invite",
      "roles:read",
      "entitlements:manage",
      "audit:read",
    ]));
    owner = await signUpUser(api);
    const created = await api.request("/v1/orgs", {
      method: "POST",
      headers: owner.bearer,
      json: { name: "Acme Rockets" },
    });
    orgId = ((await created.json()) as { id: string }).id;
  });
  afterAll(() => api.close());

  /** The link in the newest mail to `to`, read from the outbox as the development mailbox shows it. */
  async function linkIn(to: string, path: string): Promise<URL> {
    const [message] = await api.platform.email.outbox.list(api.database.db, { to });
    const view = await api.platform.email.outbox.get(api.database.db, message!.id);
    return new URL(new RegExp(`https?://[^\\s"]+${path}[^\\s"]*`).exec(view!.text)![0]);
  }

  test("finds an organization, changes a member's role (within the operator's own permissions), resends and withdraws an invitation, removes a member", async () => {
    await api.request(`/v1/orgs/${orgId}/invitations`, {
      method: "POST",
      headers: owner.bearer,
      json: { email: "joiner@example.com", role: "member" },
    });
    const token = (await linkIn("joiner@example.com", "/auth/accept-invitation")).searchParams.get("token")!;
    const joined = await api.request("/v1/invitations/accept", {
      method: "POST",
      headers: BEARER_CLIENT,
      json: { token, password: "a passphrase of my own" },
    });
    expect(joined.status).toBe(200);
    const joinerId = ((await joined.json()) as { user: { id: string } }).user.id;

    const browser = await signInWithCode(api, admin, operator, secret);
    await browser.get("/orgs?query=rockets");
    expect(browser.lastHtml).toContain(`href="/orgs/${orgId}"`);
    await browser.get("/orgs?query=no-such-org");
    expect(browser.lastHtml).toContain("No organizations match.");
    await browser.get(`/orgs/${orgId}`);
    expect(browser.lastHtml).toContain("joiner@example.com");

    // An operator grants no role with permissions they do not hold themselves (the service's rule).
    const beyond = await browser.post(`/orgs/${orgId}/members/${joinerId}/role`, { role: "admin" });
    expect(beyond.status).toBe(403);
    expect(browser.lastHtml).toContain("You cannot grant the admin role.");
    await browser.get(`/orgs/${orgId}`);
    const changed = await browser.post(`/orgs/${orgId}/members/${joinerId}/role`, { role: "viewer" });
    expect(changed.headers.get("location")).toBe(`/orgs/${orgId}?done=role-changed`);
    const members = await api.platform.rbac.organizations.members(operator.id, orgId);
    expect(members.find((member) => member.userId === joinerId)?.role).toBe("viewer");

    await api.request(`/v1/orgs/${orgId}/invitations`, {
      method: "POST",
      headers: owner.bearer,
      json: { email: "later@example.com", role: "viewer" },
    });
    const first = await linkIn("later@example.com", "/auth/accept-invitation");
    await browser.get(`/orgs/${orgId}`);
    const invitationId = /action="\/orgs\/[^/]+\/invitations\/([^/]+)\/resend"/.exec(browser.lastHtml)![1]!;
    const resent = await browser.post(`/orgs/${orgId}/invitations/${invitationId}/resend`, {});
    expect(resent.headers.get("location")).toBe(`/orgs/${orgId}?done=invitation-resent`);
    const second = await linkIn("later@example.com", "/auth/accept-invitation");
    expect(second.searchParams.get("token")).not.toBe(first.searchParams.get("token"));
    await browser.get(`/orgs/${orgId}`);
    const pendingId = /action="\/orgs\/[^/]+\/invitations\/([^/]+)\/revoke"/.exec(browser.lastHtml)![1]!;
    await browser.post(`/orgs/${orgId}/invitations/${pendingId}/revoke`, {});
    await browser.get(`/orgs/${orgId}`);
    expect(browser.lastHtml).toContain("No pending invitations.");

    await browser.post(`/orgs/${orgId}/members/${joinerId}/remove`, {});
    const after = await api.platform.rbac.organizations.members(operator.id, orgId);
    expect(after.map((member) => member.userId)).not.toContain(joinerId);
  });

  test("without org:read there is no organizations page, and the service refuses", async () => {
    const { user: other, secret: otherSecret } = await operatorWith(api, ["users:read"]);
    const browser = await signInWithCode(api, admin, other, otherSecret);
    await browser.get("/");
    expect(browser.lastHtml).not.toContain('href="/orgs"');
    expect((await browser.get("/orgs")).status).toBe(403);
    expect((await browser.get(`/orgs/${orgId}`)).status).toBe(404);
    expect((await api.request("/v1/admin/organizations", { headers: other.bearer })).status).toBe(403);
  });

  test("GET /v1/admin/organizations searches every organization for an operator", async () => {
    const found = await api.request("/v1/admin/organizations?query=acme", { headers: operator.bearer });
    expect(found.status).toBe(200);
    const body = (await found.json()) as { data: { id: string; members: number }[]; nextCursor: string | null };
    expect(body.data.map((org) => org.id)).toEqual([orgId]);
    expect(body.data[0]!.members).toBeGreaterThanOrEqual(1);
    expect((await api.request("/v1/admin/organizations?cursor=bad", { headers: operator.bearer })).status).toBe(400);
  });

  test("the organization's plan, and overrides an operator adds and removes", async () => {
    const { entitlements } = api.platform.rbac;
    await entitlements.definePlan({
      key: "team",
      name: "Team",
      features: { sso: { kind: "boolean" }, seats: { kind: "limit", limit: 25 } },
    });
    await entitlements.setSubscription({ type: "organization", id: orgId }, { plan: "team", status: "active" });
    const browser = await signInWithCode(api, admin, operator, secret);
    await browser.get(`/orgs/${orgId}`);
    expect(browser.lastHtml).toContain("Plan <strong>Team</strong>");
    expect(browser.lastHtml).toContain("No overrides.");
    const added = await browser.post(`/orgs/${orgId}/overrides`, {
      feature: "seats",
      effect: "limit",
      limit: "40",
      reason: "Launch promotion",
      expires: "2026-12-31",
    });
    expect(added.headers.get("location")).toBe(`/orgs/${orgId}?done=override-added`);
    const resolved = await entitlements.resolve({ userId: owner.id, orgId });
    expect(resolved.seats).toEqual({ enabled: true, limit: 40 });
    const trail = await api.platform.auditTrail
      .search(operator.id, { action: "entitlement.override_added" })
      .catch(() => null);
    if (trail !== null) expect(trail.data[0]?.actorId).toBe(operator.id);

    await browser.get(`/orgs/${orgId}`);
    expect(browser.lastHtml).toContain("Launch promotion");
    const overrideId = /action="\/orgs\/[^/]+\/overrides\/([^/]+)\/remove"/.exec(browser.lastHtml)![1]!;
    expect(
      (await browser.post(`/orgs/${orgId}/overrides`, { feature: "seats", effect: "limit", reason: "" })).status,
    ).toBe(400);
    await browser.get(`/orgs/${orgId}`);
    await browser.post(`/orgs/${orgId}/overrides/${overrideId}/remove`, {});
    expect((await entitlements.resolve({ userId: owner.id, orgId })).seats).toEqual({ enabled: true, limit: 25 });

    // Without entitlements:manage: the plan is shown, no form, and a post is refused.
    const { user: reader, secret: readerSecret } = await operatorWith(api, ["org:read", "members:read"]);
    const readerBrowser = await signInWithCode(api, admin, reader, readerSecret);
    await readerBrowser.get(`/orgs/${orgId}`);
    expect(readerBrowser.lastHtml).toContain("Plan <strong>Team</strong>");
    expect(readerBrowser.lastHtml).not.toContain("Add override");
    const refused = await readerBrowser.post(`/orgs/${orgId}/overrides`, {
      feature: "sso",
      effect: "grant",
      reason: "x",
    });
    expect(refused.status).toBe(403);
  });
});
