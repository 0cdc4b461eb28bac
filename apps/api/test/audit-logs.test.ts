import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import {
  createTestApi,
  grantPlatformPermissions,
  readProblem,
  signIn,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

interface Entry {
  id: string;
  action: string;
  actorId: string | null;
  targetId: string | null;
  outcome: string;
  ip: string | null;
  occurredAt: string;
}

describe("the audit log API", () => {
  let api: TestApi;
  let auditor: TestUser;
  let ada: TestUser;
  let stranger: TestUser;
  const get = (user: TestUser, path: string, headers: Record<string, string> = {}) =>
    api.request(path, { headers: { ...user.bearer, ...headers } });
  const search = async (query: string): Promise<{ data: Entry[]; nextCursor: string | null }> => {
    const response = await get(auditor, `/v1/admin/audit-logs${query}`);
    expect(response.status).toBe(200);
    return response.json();
  };

  beforeAll(async () => {
    api = await createTestApi();
    auditor = await signUpUser(api);
    ada = await signUpUser(api);
    stranger = await signUpUser(api);
    await grantPlatformPermissions(api, auditor.id, ["audit:read"]);
    // Ada's activity: a failed sign-in from 203.0.113.9, then a good one.
    expect((await signIn(api, ada.email, "wrong password here", { ip: "203.0.113.9" })).status).toBe(401);
    expect((await signIn(api, ada.email, ada.password, { ip: "203.0.113.9" })).status).toBe(200);
  });
  afterAll(() => api.close());

  test("needs audit:read: 401 without a caller, 403 for a user without it", async () => {
    expect((await api.request("/v1/admin/audit-logs")).status).toBe(401);
    const refused = await get(stranger, "/v1/admin/audit-logs");
    expect(refused.status).toBe(403);
    expect((await readProblem(refused)).code).toBe("forbidden");
    // The export is refused the same way, before any byte of it.
    const exportRefused = await get(stranger, "/v1/admin/audit-logs", { accept: "application/x-ndjson" });
    expect(exportRefused.status).toBe(403);
    expect(exportRefused.headers.get("content-type")).toContain("application/problem+json");
  });

  test("what the landed features audit shows up, filtered by actor, action, target, outcome and IP", async () => {
    const mine = await search(`?targetId=${ada.id}`);
    const actions = mine.data.map((entry) => entry.action);
    expect(actions).toContain("user.signed_up");
    expect(actions).toContain("user.signed_in");
    expect(actions).toContain("user.sign_in_failed");
    // Newest first.
    expect(mine.data.map((entry) => entry.id)).toEqual([...mine.data.map((entry) => entry.id)].sort().reverse());

    const failed = await search(`?targetId=${ada.id}&outcome=failure`);
    expect(failed.data.map((entry) => entry.action)).toEqual(["user.sign_in_failed"]);
    const signedIn = await search(`?action=user.signed_in&actorId=${ada.id}`);
    expect(signedIn.data.length).toBeGreaterThan(0);
    expect(signedIn.data.every((entry) => entry.action === "user.signed_in" && entry.actorId === ada.id)).toBe(true);

    // By IP: the raw address matches through its stored hash, and so does the hash as the API shows it.
    const byIp = await search(`?ip=203.0.113.9&targetId=${ada.id}`);
    expect(byIp.data.map((entry) => entry.action).sort()).toEqual(["user.sign_in_failed", "user.signed_in"]);
    expect(byIp.data[0]!.ip).not.toBe("203.0.113.9");
    const byHash = await search(`?ip=${byIp.data[0]!.ip}&targetId=${ada.id}`);
    expect(byHash.data.length).toBe(2);
    expect((await search(`?ip=198.51.100.1&targetId=${ada.id}`)).data).toEqual([]);
  });

  test("a time range is inclusive; pages by cursor are stable while new entries arrive", async () => {
    const all = await search(`?targetId=${ada.id}`);
    const first = all.data.at(-1)!;
    const only = await search(`?targetId=${ada.id}&from=${first.occurredAt}&to=${first.occurredAt}`);
    expect(only.data.every((entry) => entry.occurredAt === first.occurredAt)).toBe(true);
    api.clock.advance(60_000);
    const later = new Date(api.clock.now().getTime()).toISOString();
    expect((await search(`?targetId=${ada.id}&from=${later}`)).data).toEqual([]);

    const pageOne = await search(`?targetId=${ada.id}&limit=1`);
    expect(pageOne.data).toHaveLength(1);
    expect(pageOne.nextCursor).not.toBeNull();
    // A new entry arrives between pages: page two starts right after page one all the same.
    expect((await signIn(api, ada.email, ada.password)).status).toBe(200);
    const pageTwo = await search(`?targetId=${ada.id}&limit=1&cursor=${pageOne.nextCursor}`);
    expect(pageTwo.data[0]!.id).toBe(all.data[1]!.id);
    // Walking every page gives every entry once.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await search(`?targetId=${ada.id}&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.data.map((entry) => entry.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(all.data.length + 1);
  });

  test("bad filters and tampered cursors are clear 400s", async () => {
    const refused = async (query: string, code: string) => {
      const response = await get(auditor, `/v1/admin/audit-logs${query}`);
      expect(response.status).toBe(400);
      expect((await readProblem(response)).code).toBe(code);
    };
    await refused("?from=yesterday", "validation_failed");
    await refused("?from=2026-13-01T00:00:00Z", "validation_failed");
    await refused("?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "validation_failed");
    await refused("?action=user.no_such_thing", "validation_failed");
    await refused("?action=DROP%20TABLE", "validation_failed");
    await refused(`?orgId=${ada.id}`, "validation_failed");
    await refused("?actorId=org_00000000000000000000000000", "validation_failed");
    await refused("?ip=not-an-ip!", "validation_failed");
    await refused("?limit=0", "validation_failed");
    await refused("?limit=500", "validation_failed");
    await refused("?surprise=1", "validation_failed");
    const { nextCursor } = await search(`?targetId=${ada.id}&limit=1`);
    const [time, id, mac] = Buffer.from(nextCursor!, "base64url").toString().split(".");
    const cursor = (text: string) => `?cursor=${Buffer.from(text).toString("base64url")}`;
    // Another id or time under the old signature, a made-up signature, garbage: all refused.
    const otherId = `${id!.slice(0, -1)}${id!.endsWith("0") ? "1" : "0"}`;
    await refused(cursor(`${time}.${otherId}.${mac}`), "invalid_cursor");
    await refused(cursor(`${Number(time) + 1}.${id}.${mac}`), "invalid_cursor");
    await refused(cursor(`${time}.${id}.${"0".repeat(32)}`), "invalid_cursor");
    await refused(cursor(`${time}.${id}`), "invalid_cursor");
    await refused("?cursor=garbage", "invalid_cursor");
  });

  test("exports the filtered set as NDJSON and as CSV", async () => {
    const expected = (await search(`?targetId=${ada.id}&limit=200`)).data;
    const ndjson = await get(auditor, `/v1/admin/audit-logs?targetId=${ada.id}`, { accept: "application/x-ndjson" });
    expect(ndjson.status).toBe(200);
    expect(ndjson.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = (await ndjson.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Entry);
    expect(lines.map((entry) => entry.id)).toEqual(expected.map((entry) => entry.id));

    const csv = await get(auditor, `/v1/admin/audit-logs?targetId=${ada.id}&outcome=failure`, { accept: "text/csv" });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const rows = (await csv.text()).trim().split("\r\n");
    expect(rows[0]).toBe(
      "id,occurredAt,actorType,actorId,action,targetType,targetId,orgId,outcome,ip,userAgent,requestId,metadata",
    );
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain("user.sign_in_failed");
  });

  test("a CSV cell a spreadsheet would run as a formula is defused", async () => {
    await api.platform.audit.record(api.platform.db, {
      action: "app.note",
      actor: { type: "system" },
      target: { type: "user", id: stranger.id },
      metadata: { note: '=HYPERLINK("http://evil.example")' },
    });
    const csv = await get(auditor, `/v1/admin/audit-logs?targetId=${stranger.id}&action=app.note`, {
      accept: "text/csv",
    });
    const row = (await csv.text()).trim().split("\r\n")[1]!;
    expect(row).not.toMatch(/,=|,"=/);
    expect(row).toContain("HYPERLINK");
  });

  test("a user reads their own recent security activity, and nobody else's", async () => {
    const response = await get(ada, "/v1/me/activity");
    expect(response.status).toBe(200);
    const { data } = (await response.json()) as { data: Entry[] };
    expect(data.map((entry) => entry.action)).toContain("user.sign_in_failed");
    expect(data.every((entry) => entry.targetId === ada.id)).toBe(true);
    const theirs = (await (await get(stranger, "/v1/me/activity")).json()) as { data: Entry[] };
    expect(theirs.data.some((entry) => entry.targetId === ada.id)).toBe(false);
    expect((await api.request("/v1/me/activity")).status).toBe(401);
  });

  test("an export of 200,000 entries streams in bounded memory", async () => {
    // Planted in one statement, a millisecond apart; the export then reads them in batches by key.
    const before = api.clock.now().getTime();
    await api.platform.db.execute(sql`
      insert into ${auditLogs} (id, occurred_at, actor_type, action, target_type, target_id, outcome, metadata)
      select 'aud_' || lpad(to_hex(g), 26, '0'), to_timestamp(${before / 1000}::double precision - g / 1000.0), 'system', 'app.bulk', 'user',
             ${stranger.id}, 'success', jsonb_build_object('n', g)
        from generate_series(1, 200000) as g`);
    Bun.gc(true);
    const startRss = process.memoryUsage.rss();
    let peakRss = startRss;
    const response = await get(auditor, `/v1/admin/audit-logs?action=app.bulk`, { accept: "application/x-ndjson" });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let lines = 0;
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      for (const byte of value) if (byte === 10) lines++;
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }
    expect(lines).toBe(200_000);
    expect(bytes).toBeGreaterThan(200_000 * 100);
    expect(peakRss - startRss).toBeLessThan(50 * 1024 * 1024);
  }, 120_000);
});
