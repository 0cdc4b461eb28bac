import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { auditLogs, securityEvents } from "@burrow/platform-core/schema";
import {
  createTestApi,
  grantPlatformPermissions,
  readProblem,
  signIn,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

interface Event {
  id: string;
  kind: string;
  severity: string;
  userId: string | null;
  auditId: string;
  resolvedAt: string | null;
  resolvedBy: string | null;
  resolutionNote: string | null;
}

describe("security events", () => {
  let api: TestApi;
  let operator: TestUser;
  let reader: TestUser;
  let ada: TestUser;
  const list = async (user: TestUser, query = ""): Promise<Response> =>
    api.request(`/v1/admin/security-events${query}`, { headers: user.bearer });
  const events = async (query = ""): Promise<Event[]> => {
    const response = await list(operator, query);
    expect(response.status).toBe(200);
    return ((await response.json()) as { data: Event[] }).data;
  };
  const resolve = (user: TestUser, id: string, body: unknown) =>
    api.request(`/v1/admin/security-events/${id}/resolve`, { method: "POST", headers: user.bearer, json: body });

  beforeAll(async () => {
    api = await createTestApi();
    operator = await signUpUser(api);
    reader = await signUpUser(api);
    ada = await signUpUser(api);
    await grantPlatformPermissions(api, operator.id, ["audit:read", "security_events:resolve", "users:read"]);
    await grantPlatformPermissions(api, reader.id, ["audit:read"]);
  });
  afterAll(() => api.close());

  test("a lockout raises account_locked, in the transaction of its audit entry", async () => {
    for (let attempt = 0; attempt < 5; attempt++) await signIn(api, ada.email, "not the right password");
    const [event] = await events(`?kind=account_locked&userId=${ada.id}`);
    expect(event).toMatchObject({ kind: "account_locked", severity: "medium", userId: ada.id, resolvedAt: null });
    const [entry] = await api.platform.db.select().from(auditLogs).where(eq(auditLogs.id, event!.auditId));
    expect(entry?.action).toBe("user.locked");
  });

  test("more than 20 failed sign-ins from one address across accounts raise one credential_stuffing event", async () => {
    const stuffing = async () => (await events("?kind=credential_stuffing")).length;
    const before = await stuffing();
    // Another address, a few failures: nothing.
    for (let n = 0; n < 5; n++) await signIn(api, `guess${n}@example.com`, "hunter2 hunter2", { ip: "198.51.100.20" });
    for (let n = 0; n < 20; n++)
      expect((await signIn(api, `victim${n}@example.com`, "hunter2 hunter2", { ip: "203.0.113.50" })).status).toBe(401);
    expect(await stuffing()).toBe(before);
    await signIn(api, "victim20@example.com", "hunter2 hunter2", { ip: "203.0.113.50" });
    expect(await stuffing()).toBe(before + 1);
    // Going on does not raise it again while the address stays over.
    for (let n = 21; n < 26; n++)
      await signIn(api, `victim${n}@example.com`, "hunter2 hunter2", { ip: "203.0.113.50" });
    expect(await stuffing()).toBe(before + 1);
    // Back under after a quiet window, then over again: a second event.
    api.clock.advance(10 * 60_000);
    for (let n = 0; n < 21; n++) await signIn(api, `again${n}@example.com`, "hunter2 hunter2", { ip: "203.0.113.50" });
    expect(await stuffing()).toBe(before + 2);
    const [event] = await events("?kind=credential_stuffing");
    const [entry] = await api.platform.db.select().from(auditLogs).where(eq(auditLogs.id, event!.auditId));
    expect(entry).toMatchObject({
      action: "security.credential_stuffing",
      ip: api.platform.audit.ipForStorage("203.0.113.50"),
    });
  });

  test("an API key with platform scopes raises one; a key for one's own profile does not", async () => {
    const make = (scopes: string[]) =>
      api.request("/v1/api-keys", { method: "POST", headers: operator.bearer, json: { name: "k", scopes } });
    expect((await make(["profile:read"])).status).toBe(201);
    expect(await events(`?kind=platform_api_key_created&userId=${operator.id}`)).toHaveLength(0);
    expect((await make(["users:read"])).status).toBe(201);
    const [event] = await events(`?kind=platform_api_key_created&userId=${operator.id}`);
    expect(event?.severity).toBe("medium");
  });

  test("listing needs audit:read; filters and cursors are checked", async () => {
    expect((await api.request("/v1/admin/security-events")).status).toBe(401);
    const refused = await list(ada);
    expect(refused.status).toBe(403);
    expect((await list(reader)).status).toBe(200);
    for (const [query, code] of [
      ["?kind=nothing_like_it", "validation_failed"],
      ["?severity=extreme", "validation_failed"],
      ["?userId=org_00000000000000000000000000", "validation_failed"],
      ["?resolved=maybe", "validation_failed"],
      ["?cursor=forged", "invalid_cursor"],
    ] as const) {
      const response = await list(operator, query);
      expect(response.status).toBe(400);
      expect((await readProblem(response)).code).toBe(code);
    }
    // Paging walks every event once.
    const all = await events();
    const first = (await (await list(operator, "?limit=1")).json()) as { data: Event[]; nextCursor: string };
    const second = (await (await list(operator, `?limit=1&cursor=${first.nextCursor}`)).json()) as { data: Event[] };
    expect([first.data[0]!.id, second.data[0]!.id]).toEqual([all[0]!.id, all[1]!.id]);
  });

  test("resolving needs security_events:resolve and a note; once, audited", async () => {
    const [event] = await events(`?kind=account_locked&userId=${ada.id}`);
    const byReader = await resolve(reader, event!.id, { note: "seen" });
    expect(byReader.status).toBe(403);
    for (const body of [{}, { note: "" }, { note: "x".repeat(2001) }, { note: "ok", extra: 1 }]) {
      const response = await resolve(operator, event!.id, body);
      expect(response.status).toBe(400);
    }
    expect((await resolve(operator, "not-an-id", { note: "x" })).status).toBe(400);
    expect((await resolve(operator, "sev_00000000000000000000000000", { note: "x" })).status).toBe(404);
    expect((await events(`?resolved=true`)).map((row) => row.id)).not.toContain(event!.id);

    const resolved = await resolve(operator, event!.id, { note: "Ada mistyped; confirmed by phone." });
    expect(resolved.status).toBe(200);
    expect(await resolved.json()).toMatchObject({
      id: event!.id,
      resolvedBy: operator.id,
      resolutionNote: "Ada mistyped; confirmed by phone.",
    });
    const again = await resolve(operator, event!.id, { note: "again" });
    expect(again.status).toBe(409);
    expect((await readProblem(again)).code).toBe("already_resolved");
    expect((await events("?resolved=true")).map((row) => row.id)).toContain(event!.id);
    expect((await events("?resolved=false")).map((row) => row.id)).not.toContain(event!.id);
    const audited = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "security_event.resolved"), eq(auditLogs.targetId, event!.id)));
    expect(audited).toHaveLength(1);
  });

  test("housekeeping deletes resolved events past their retention, never open ones", async () => {
    const open = await events("?resolved=false");
    expect(open.length).toBeGreaterThan(0);
    api.clock.advance(731 * 86_400_000);
    await api.platform.housekeeping.sweepAll();
    const left = await api.platform.db.select().from(securityEvents);
    expect(left.every((row) => row.resolvedAt === null)).toBe(true);
    expect(left.map((row) => row.id).sort()).toEqual(open.map((row) => row.id).sort());
  });
});
