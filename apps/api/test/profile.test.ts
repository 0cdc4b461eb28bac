import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApi, readProblem, reauthenticate, signUpUser, type TestApi } from "./helpers.ts";

describe("/v1/me", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  const patch = (headers: Record<string, string>, json: unknown) =>
    api.request("/v1/me", { method: "PATCH", headers, json });

  test("GET returns the profile without private metadata", async () => {
    const user = await signUpUser(api, { name: "Ada Lovelace" });
    await api.platform.auth.users.setPrivateMetadata(api.platform.db, user.id as never, {
      plan: "internal-secret-tier",
    });
    const response = await api.request("/v1/me", { headers: user.bearer });
    const body = await response.json();
    expect(body).toMatchObject({ id: user.id, email: user.email, name: "Ada Lovelace", metadata: {} });
    expect(JSON.stringify(body)).not.toContain("internal-secret-tier");
  });

  test("PATCH edits name, avatar and metadata", async () => {
    const user = await signUpUser(api);
    const response = await patch(user.bearer, {
      name: "  Grace  ",
      avatarUrl: "https://cdn.example.com/g.png",
      metadata: { theme: "dark", beta: true },
    });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({
      name: "Grace",
      avatarUrl: "https://cdn.example.com/g.png",
      metadata: { theme: "dark", beta: true },
    });
    expect((await patch(user.bearer, { avatarUrl: null })).status).toBe(200);
    expect((await (await api.request("/v1/me", { headers: user.bearer })).json()).avatarUrl).toBeNull();
  });

  test("mass assignment and bad values are refused and change nothing", async () => {
    const user = await signUpUser(api, { name: "Original" });
    const other = await signUpUser(api);
    const attempts: unknown[] = [
      { status: "suspended" },
      { emailVerifiedAt: "2020-01-01T00:00:00.000Z" },
      { privateMetadata: { role: "admin" } },
      { id: other.id },
      { email: "new@example.com" },
      { name: "Changed", status: "active" },
      { name: "" },
      { name: "x".repeat(201) },
      { avatarUrl: "javascript:alert(1)" },
      { avatarUrl: "not a url" },
      { metadata: { big: "x".repeat(9000) } },
      { metadata: ["not", "an", "object"] },
      { metadata: "string" },
    ];
    for (const body of attempts) {
      const response = await patch(user.bearer, body);
      expect(response.status).toBe(400);
      expect((await readProblem(response)).code).toBe("validation_failed");
    }
    const row = await api.platform.auth.users.get(api.platform.db, user.id as never);
    expect(row).toMatchObject({
      name: "Original",
      status: "active",
      emailVerifiedAt: null,
      privateMetadata: {},
      avatarUrl: null,
      metadata: {},
    });
    const untouched = await api.platform.auth.users.get(api.platform.db, other.id as never);
    expect(untouched?.status).toBe("active");
  });

  test("deleting the account needs a recent re-authentication and ends everything", async () => {
    const user = await signUpUser(api);
    const key = await (
      await api.request("/v1/api-keys", {
        method: "POST",
        headers: user.bearer,
        json: { name: "k", scopes: ["profile:read"] },
      })
    ).json();
    api.clock.advance(11 * 60_000);
    const stale = await api.request("/v1/me", { method: "DELETE", headers: user.bearer });
    expect((await readProblem(stale)).code).toBe("reauthentication_required");
    expect((await reauthenticate(api, user)).status).toBe(200);
    expect((await api.request("/v1/me", { method: "DELETE", headers: user.bearer })).status).toBe(204);
    expect((await api.request("/v1/me", { headers: user.bearer })).status).toBe(401);
    expect((await api.request("/v1/me", { headers: { "x-api-key": key.secret } })).status).toBe(401);
    expect(
      (await api.request("/v1/auth/sign-in", { method: "POST", json: { email: user.email, password: user.password } }))
        .status,
    ).toBe(401);
  });

  test("needs a session", async () => {
    expect((await api.request("/v1/me")).status).toBe(401);
    expect((await patch({}, { name: "x" })).status).toBe(401);
  });
});
