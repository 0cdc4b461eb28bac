import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createAuditLog, newId, type AuditLog } from "@burrow/platform-core";
import { principalRoles } from "@burrow/platform-rbac/schema";
import { createTestRbac, type TestRbac } from "@burrow/platform-rbac/testing";
import { auditCsvLine, createAuditTrail, type AuditTrail } from "./audit-trail.ts";

describe("audit trail", () => {
  let t: TestRbac;
  let audit: AuditLog;
  let trail: AuditTrail;
  let reader: string;
  let outsider: string;
  beforeAll(async () => {
    t = await createTestRbac();
    audit = createAuditLog({ clock: t.clock, secret: "s".repeat(32), storeRawIp: false });
    trail = createAuditTrail({ db: t.handle.db, audit, resolver: t.rbac.resolver, secret: "c".repeat(32) });
    reader = await t.newUser("reader");
    outsider = await t.newUser("outsider");
    // The built-in support role holds audit:read.
    await t.handle.db
      .insert(principalRoles)
      .values({ id: newId("role"), userId: reader, roleId: await t.roleId("support"), createdAt: t.clock.now() });
    for (let index = 0; index < 5; index++) {
      t.clock.advance(1000);
      await audit.record(t.handle.db, { action: "app.probe.page", actor: { type: "anonymous" }, metadata: { index } });
    }
  });
  afterAll(() => t.handle.close());

  test("pages newest first with a filter and a cursor; the export holds the same entries", async () => {
    const first = await trail.search(reader, { action: "app.probe.page" }, { limit: 3 });
    expect(first.data.map((entry) => entry.metadata.index)).toEqual([4, 3, 2]);
    const rest = await trail.search(reader, { action: "app.probe.page" }, { cursor: first.nextCursor!, limit: 3 });
    expect(rest.data.map((entry) => entry.metadata.index)).toEqual([1, 0]);
    expect(rest.nextCursor).toBeNull();
    const exported = [];
    for await (const entry of await trail.export(reader, { action: "app.probe.page" })) exported.push(entry);
    expect(exported.map((entry) => entry.metadata.index)).toEqual([4, 3, 2, 1, 0]);
  });

  test("audit:read is checked in the service, for search and export alike", async () => {
    await expect(trail.search(outsider, {})).rejects.toMatchObject({ code: "forbidden" });
    await expect(trail.export(outsider, {})).rejects.toMatchObject({ code: "forbidden" });
  });

  test("reversed ranges, unknown actions and altered cursors are refused", async () => {
    const from = new Date("2026-12-02T00:00:00Z");
    await expect(trail.search(reader, { from, to: new Date(from.getTime() - 1) })).rejects.toMatchObject({
      code: "validation_failed",
    });
    await expect(trail.search(reader, { action: "user.nothing" })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(trail.search(reader, {}, { cursor: "AAAA" })).rejects.toMatchObject({ code: "invalid_cursor" });
  });

  test("CSV quotes what needs quoting and defuses formulas", async () => {
    const [entry] = (await trail.search(reader, { action: "app.probe.page" }, { limit: 1 })).data;
    const line = auditCsvLine({ ...entry!, userAgent: '=cmd|"x"', metadata: { a: "b,c" } });
    expect(line).toContain(`"'=cmd|""x"""`);
    expect(line).toContain(`"{""a"":""b,c""}"`);
    expect(line.endsWith("\r\n")).toBe(true);
  });
});
