import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createKeyRing, NO_METRICS, newId, PlatformError, queryRows } from "@burrow/platform-core";
import { testConfig } from "@burrow/platform-auth/testing";
import { principalRoles } from "@burrow/platform-rbac/schema";
import { createTestRbac, type TestRbac } from "@burrow/platform-rbac/testing";
import { createWebhooks, type Webhooks } from "./webhooks.ts";

describe("webhook endpoints under concurrency", () => {
  let r: TestRbac;
  let webhooks: Webhooks;
  let operator: string;
  const PARALLEL = 12;
  /** Each race runs a few times: the first can finish before the pool has opened all its connections. */
  const ROUNDS = 3;

  beforeAll(async () => {
    r = await createTestRbac();
    const config = testConfig();
    webhooks = createWebhooks({
      db: r.handle.db,
      config,
      clock: r.clock,
      keyRing: createKeyRing(config.encryptionKeys),
      audit: () => r.audit,
      resolver: () => r.rbac.resolver,
      metrics: NO_METRICS,
    });
    operator = await r.newUser("operator");
    await r.handle.db.insert(principalRoles).values({
      id: newId("role"),
      userId: operator,
      roleId: await r.roleId("platform_admin"),
      createdAt: r.clock.now(),
    });
  });
  afterAll(() => r.handle.close());

  const audited = async (action: string, targetId: string) =>
    Number(
      (
        await queryRows<{ count: number | string }>(
          r.handle.db,
          sql`select count(*) as count from audit_logs where action = ${action} and target_id = ${targetId}`,
        )
      )[0]?.count,
    );
  const newEndpoint = async () =>
    (await webhooks.create(operator, { url: "https://hooks.example.com/in", eventTypes: ["*"] }, {})).endpoint.id;

  test("concurrent removals of one endpoint: one succeeds and is audited, the others not_found", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const endpointId = await newEndpoint();
      const settled = await Promise.allSettled(
        Array.from({ length: PARALLEL }, () => webhooks.remove(operator, endpointId, {})),
      );
      const losers = settled.filter((result) => result.status === "rejected").map((result) => result.reason);
      expect(settled.length - losers.length).toBe(1);
      for (const reason of losers) expect(reason).toBeInstanceOf(PlatformError);
      expect(losers.map((reason) => (reason as PlatformError).code)).toEqual(Array(PARALLEL - 1).fill("not_found"));
      expect(await audited("webhook.endpoint_deleted", endpointId)).toBe(1);
      expect(await queryRows(r.handle.db, sql`select id from webhook_endpoints where id = ${endpointId}`)).toEqual([]);
    }
  });

  test("changes and rotations racing a removal answer not_found, never a crash", async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const endpointId = await newEndpoint();
      const settled = await Promise.allSettled<unknown>([
        webhooks.remove(operator, endpointId, {}),
        ...Array.from({ length: PARALLEL / 2 }, () =>
          webhooks.update(operator, endpointId, { description: "changed" }, {}),
        ),
        ...Array.from({ length: PARALLEL / 2 - 1 }, () => webhooks.rotateSecret(operator, endpointId, {})),
      ]);
      expect(settled[0]!.status).toBe("fulfilled");
      for (const result of settled.slice(1))
        if (result.status === "rejected") {
          expect(result.reason).toBeInstanceOf(PlatformError);
          expect((result.reason as PlatformError).code).toBe("not_found");
        }
      expect(await audited("webhook.endpoint_deleted", endpointId)).toBe(1);
    }
  });
});
