import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { createAuditLog } from "./audit.ts";
import type { DatabaseHandle } from "./database/index.ts";
import { auditLogs } from "./schema.ts";
import { createTestClock, createTestDatabase } from "./test-database.ts";

describe("audit log", () => {
  let handle: DatabaseHandle;
  const clock = createTestClock();
  beforeAll(async () => {
    handle = await createTestDatabase();
  });
  afterAll(() => handle.close());
  const entries = (column: typeof auditLogs.actorId | typeof auditLogs.action, value: string) =>
    handle.db.select().from(auditLogs).where(eq(column, value));

  test("records who did what, hashes the IP and drops secrets from metadata", async () => {
    const audit = createAuditLog({ clock, secret: "s".repeat(32), storeRawIp: false });
    await audit.record(
      handle.db,
      {
        action: "user.signed_in",
        actor: { type: "user", id: "usr_1" },
        target: { type: "user", id: "usr_1" },
        metadata: { method: "password", password: "hunter2", nested: { refreshToken: "abc" } },
      },
      { ip: "203.0.113.9", userAgent: "test-agent", requestId: "req_1" },
    );
    const [entry] = await entries(auditLogs.actorId, "usr_1");
    expect(entry?.action).toBe("user.signed_in");
    expect(entry?.outcome).toBe("success");
    expect(entry?.ip).not.toContain("203.0.113.9");
    expect(entry?.ip).toBe(audit.ipForStorage("203.0.113.9"));
    expect(entry?.userAgent).toBe("test-agent");
    expect(entry?.requestId).toBe("req_1");
    expect(entry?.occurredAt.toISOString()).toBe(clock.now().toISOString());
    expect(JSON.stringify(entry?.metadata)).not.toContain("hunter2");
    expect(JSON.stringify(entry?.metadata)).not.toContain("abc");
    expect(entry?.metadata).toEqual({
      method: "password",
      password: "[redacted]",
      nested: { refreshToken: "[redacted]" },
    });
  });

  test("recordByUser records the user as both actor and target, with its outcome and metadata", async () => {
    const audit = createAuditLog({ clock, secret: "s".repeat(32), storeRawIp: false });
    await audit.recordByUser(
      handle.db,
      "usr_self",
      "user.reauthentication_failed",
      {},
      { outcome: "failure", metadata: { password: "x" } },
    );
    const [entry] = await entries(auditLogs.actorId, "usr_self");
    expect(entry).toMatchObject({
      action: "user.reauthentication_failed",
      actorType: "user",
      actorId: "usr_self",
      targetType: "user",
      targetId: "usr_self",
      outcome: "failure",
      metadata: { password: "[redacted]" },
    });
  });

  test("raw IPs are kept only when configured", async () => {
    const audit = createAuditLog({ clock, secret: "s".repeat(32), storeRawIp: true });
    await audit.record(handle.db, { action: "app.probe.raw", actor: { type: "system" } }, { ip: "198.51.100.1" });
    const [entry] = await entries(auditLogs.action, "app.probe.raw");
    expect(entry?.ip).toBe("198.51.100.1");
    expect(entry?.actorId).toBeNull();
  });
});
