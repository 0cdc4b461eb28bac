import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import { apiKeys } from "@burrow/platform-auth/schema";
import { createTestApi, readProblem, reauthenticate, signUpUser, type TestApi, type TestUser } from "./helpers.ts";

describe("API keys", () => {
  let api: TestApi;
  let user: TestUser;
  beforeAll(async () => {
    api = await createTestApi({ BURROW_API_KEY_RATE_LIMIT: "5/1s" });
    user = await signUpUser(api);
  });
  afterAll(() => api.close());

  const create = (json: unknown, who: TestUser = user) =>
    api.request("/v1/api-keys", { method: "POST", headers: who.bearer, json });

  test("creation shows the secret once; the key reads the profile by Bearer or X-API-Key", async () => {
    const response = await create({ name: "CI deploys", scopes: ["profile:read"] });
    expect(response.status).toBe(201);
    const created = await response.json();
    expect(created.secret).toMatch(/^bk_key_[0-9a-z]{26}_[A-Za-z0-9_-]{43}$/);
    // The listed prefix is the start of the key's random part, so keys made in the same instant differ.
    expect(created.prefix).toBe(created.secret.slice(-43, -35));
    const second = await (await create({ name: "CI deploys too", scopes: ["profile:read"] })).json();
    expect(second.prefix).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(second.prefix).not.toBe(created.prefix);
    expect(created.secret.slice(0, 12)).toBe(second.secret.slice(0, 12));
    const list = await (await api.request("/v1/api-keys", { headers: user.bearer })).json();
    expect(JSON.stringify(list)).not.toContain(created.secret.slice(-43));
    expect(list.data.map((key: { id: string }) => key.id)).toContain(created.id);
    const [stored] = await api.platform.db.select().from(apiKeys).where(eq(apiKeys.id, created.id));
    expect(JSON.stringify(stored)).not.toContain(created.secret.slice(-43));

    const byBearer = await api.request("/v1/me", { headers: { authorization: `Bearer ${created.secret}` } });
    expect(byBearer.status).toBe(200);
    expect((await byBearer.json()).id).toBe(user.id);
    expect((await api.request("/v1/me", { headers: { "x-api-key": created.secret } })).status).toBe(200);
  });

  test("a key can do only what its scopes say, and never what needs a person", async () => {
    const { secret } = await (await create({ name: "read only", scopes: ["profile:read"] })).json();
    const patch = await api.request("/v1/me", {
      method: "PATCH",
      headers: { "x-api-key": secret },
      json: { name: "changed by a key" },
    });
    expect(patch.status).toBe(403);
    expect((await readProblem(patch)).code).toBe("forbidden");
    for (const path of ["/v1/auth/session", "/v1/auth/sessions", "/v1/api-keys"])
      expect((await api.request(path, { headers: { "x-api-key": secret } })).status).toBe(403);
    // A wildcard would cover actions the user does not hold: refused.
    expect((await create({ name: "wild", scopes: ["profile:*"] })).status).toBe(403);
    const writer = await (await create({ name: "writer", scopes: ["profile:read", "profile:write"] })).json();
    expect(
      (
        await api.request("/v1/me", {
          method: "PATCH",
          headers: { "x-api-key": writer.secret },
          json: { name: "changed by a key" },
        })
      ).status,
    ).toBe(200);
  });

  test("scopes beyond what the creator holds, or malformed, are refused", async () => {
    const beyond = await create({ name: "greedy", scopes: ["profile:read", "orgs:delete"] });
    expect(beyond.status).toBe(403);
    expect((await readProblem(beyond)).code).toBe("forbidden");
    expect((await create({ name: "star", scopes: ["*"] })).status).toBe(403);
    for (const scopes of [["Profile:Read"], ["profile"], ["profile:read:extra"], [], ["a b:c"]])
      expect((await create({ name: "bad", scopes })).status).toBe(400);
    expect((await create({ name: "past", scopes: ["profile:read"], expiresAt: "2020-01-01T00:00:00Z" })).status).toBe(
      400,
    );
    expect(
      (await create({ name: "owned", scopes: ["profile:read"], ownerId: "usr_01m80w6a2kfrk8cgrdkafx9sz5" })).status,
    ).toBe(400);
  });

  test("creating a key needs a recent re-authentication", async () => {
    const stale = await signUpUser(api);
    api.clock.advance(11 * 60_000);
    const refused = await create({ name: "later", scopes: ["profile:read"] }, stale);
    expect(refused.status).toBe(403);
    expect((await readProblem(refused)).code).toBe("reauthentication_required");
    expect((await reauthenticate(api, stale)).status).toBe(200);
    expect((await create({ name: "later", scopes: ["profile:read"] }, stale)).status).toBe(201);
  });

  test("revoked and expired keys fail on their next request", async () => {
    const fresh = await signUpUser(api);
    const revocable = await (await create({ name: "to revoke", scopes: ["profile:read"] }, fresh)).json();
    const expiring = await (
      await create(
        {
          name: "short",
          scopes: ["profile:read"],
          expiresAt: new Date(api.clock.now().getTime() + 60_000).toISOString(),
        },
        fresh,
      )
    ).json();
    expect((await api.request("/v1/me", { headers: { "x-api-key": revocable.secret } })).status).toBe(200);
    expect(
      (await api.request(`/v1/api-keys/${revocable.id}`, { method: "DELETE", headers: fresh.bearer })).status,
    ).toBe(204);
    const revoked = await api.request("/v1/me", { headers: { "x-api-key": revocable.secret } });
    expect(revoked.status).toBe(401);
    expect((await readProblem(revoked)).code).toBe("invalid_token");
    expect((await api.request("/v1/me", { headers: { "x-api-key": expiring.secret } })).status).toBe(200);
    api.clock.advance(60_000);
    expect((await api.request("/v1/me", { headers: { "x-api-key": expiring.secret } })).status).toBe(401);
    // Another user's key id, an unknown one and a malformed one.
    expect((await api.request(`/v1/api-keys/${expiring.id}`, { method: "DELETE", headers: user.bearer })).status).toBe(
      404,
    );
    expect(
      (await readProblem(await api.request("/v1/api-keys/nope", { method: "DELETE", headers: fresh.bearer }))).code,
    ).toBe("invalid_id");
    const [tampered] = [`${expiring.secret.slice(0, -1)}${expiring.secret.endsWith("A") ? "B" : "A"}`];
    expect((await api.request("/v1/me", { headers: { "x-api-key": tampered } })).status).toBe(401);
  });

  test("last use is written at most once a minute, and the first use is audited", async () => {
    const owner = await signUpUser(api);
    const key = await (await create({ name: "busy", scopes: ["profile:read"] }, owner)).json();
    const lastUsed = async () =>
      (await api.platform.db.select().from(apiKeys).where(eq(apiKeys.id, key.id)))[0]!.lastUsedAt?.getTime();
    await api.request("/v1/me", { headers: { "x-api-key": key.secret } });
    const first = await lastUsed();
    expect(first).toBe(api.clock.now().getTime());
    api.clock.advance(30_000);
    await api.request("/v1/me", { headers: { "x-api-key": key.secret } });
    expect(await lastUsed()).toBe(first);
    api.clock.advance(30_000);
    await api.request("/v1/me", { headers: { "x-api-key": key.secret } });
    expect(await lastUsed()).toBe(first! + 60_000);
    const firstUses = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "api_key.first_used"), eq(auditLogs.targetId, key.id)));
    expect(firstUses.length).toBe(1);
  });

  test("each key has its own rate limit", async () => {
    const owner = await signUpUser(api);
    const a = await (await create({ name: "a", scopes: ["profile:read"] }, owner)).json();
    const b = await (await create({ name: "b", scopes: ["profile:read"] }, owner)).json();
    for (let index = 0; index < 5; index++)
      expect((await api.request("/v1/me", { headers: { "x-api-key": a.secret } })).status).toBe(200);
    const limited = await api.request("/v1/me", { headers: { "x-api-key": a.secret } });
    expect(limited.status).toBe(429);
    expect((await readProblem(limited)).code).toBe("rate_limited");
    expect((await api.request("/v1/me", { headers: { "x-api-key": b.secret } })).status).toBe(200);
  });
});
