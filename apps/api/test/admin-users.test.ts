import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestMailServer } from "@burrow/platform-email/testing";
import {
  createTestApi,
  ORIGIN,
  PASSWORD,
  grantPlatformPermissions,
  post,
  readProblem,
  reauthenticate,
  signIn,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

describe("/v1/admin/users", () => {
  let api: TestApi;
  let operator: TestUser;
  let reader: TestUser;
  beforeAll(async () => {
    api = await createTestApi();
    operator = await signUpUser(api, { name: "Olga Operator" });
    reader = await signUpUser(api);
    await grantPlatformPermissions(api, operator.id, ["users:read", "users:manage", "audit:read"]);
    await grantPlatformPermissions(api, reader.id, ["users:read"]);
  });
  afterAll(() => api.close());

  const auditActions = async (targetId: string) =>
    (
      (await (await api.request(`/v1/admin/audit-logs?targetId=${targetId}`, { headers: operator.bearer })).json()) as {
        data: { action: string; actorId: string }[];
      }
    ).data;

  test("searches by email, name or id with cursor pages, and reads one user", async () => {
    const tag = crypto.randomUUID().slice(0, 8);
    const found = [];
    for (let index = 0; index < 3; index++)
      found.push(await signUpUser(api, { email: `find-${tag}-${index}@example.com` }));
    const first = await api.request(`/v1/admin/users?query=find-${tag}&limit=2`, { headers: reader.bearer });
    expect(first.status).toBe(200);
    const page = (await first.json()) as { data: { id: string; email: string }[]; nextCursor: string | null };
    expect(page.data.map((user) => user.id)).toEqual(found.slice(0, 2).map((user) => user.id));
    expect(page.nextCursor).not.toBeNull();
    const rest = (await (
      await api.request(`/v1/admin/users?query=find-${tag}&limit=2&cursor=${page.nextCursor}`, {
        headers: reader.bearer,
      })
    ).json()) as { data: { id: string }[]; nextCursor: string | null };
    expect(rest.data.map((user) => user.id)).toEqual([found[2]!.id]);
    expect(rest.nextCursor).toBeNull();

    const byName = (await (await api.request("/v1/admin/users?query=olga", { headers: reader.bearer })).json()) as {
      data: { id: string }[];
    };
    expect(byName.data.map((user) => user.id)).toEqual([operator.id]);
    const one = await api.request(`/v1/admin/users/${found[0]!.id}`, { headers: reader.bearer });
    expect(((await one.json()) as { email: string }).email).toBe(found[0]!.email);
  });

  test("suspends (ending the user's sessions), unsuspends and deletes, each audited with the operator as actor", async () => {
    const target = await signUpUser(api);
    const suspended = await post(api, `/v1/admin/users/${target.id}/suspend`, {}, operator.bearer);
    expect(suspended.status).toBe(200);
    expect(((await suspended.json()) as { status: string }).status).toBe("suspended");
    // The user's next request fails: their session ended with the suspension.
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(401);

    const lifted = await post(api, `/v1/admin/users/${target.id}/unsuspend`, {}, operator.bearer);
    expect(((await lifted.json()) as { status: string }).status).toBe("active");
    const again = await post(api, `/v1/admin/users/${target.id}/unsuspend`, {}, operator.bearer);
    expect(again.status).toBe(409);
    expect((await readProblem(again)).code).toBe("not_suspended");
    expect((await signIn(api, target.email, target.password)).status).toBe(200);

    const deleted = await api.request(`/v1/admin/users/${target.id}`, { method: "DELETE", headers: operator.bearer });
    expect(deleted.status).toBe(204);
    expect((await api.request(`/v1/admin/users/${target.id}`, { headers: operator.bearer })).status).toBe(404);

    const actions = await auditActions(target.id);
    for (const action of ["user.suspended", "user.unsuspended", "user.deleted"])
      expect(actions.find((entry) => entry.action === action)?.actorId).toBe(operator.id);
  });

  test("revokes every session of a user: their next request fails, their refresh token is dead, and it is audited", async () => {
    const target = await signUpUser(api);
    const granted = await post(api, "/v1/auth/token", {
      grantType: "password",
      email: target.email,
      password: target.password,
    });
    const { refreshToken } = (await granted.json()) as { refreshToken: string };
    const revoked = await post(api, `/v1/admin/users/${target.id}/revoke-sessions`, {}, operator.bearer);
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revoked: number }).revoked).toBe(2);
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(401);
    const refreshed = await post(api, "/v1/auth/token", { grantType: "refresh_token", refreshToken });
    expect(refreshed.status).toBe(401);
    expect((await readProblem(refreshed)).code).toBe("invalid_token");
    const entry = (await auditActions(target.id)).find((candidate) => candidate.action === "user.sessions_revoked");
    expect(entry?.actorId).toBe(operator.id);
    // The account itself is untouched: signing in again works.
    expect((await signIn(api, target.email, target.password)).status).toBe(200);
    const refused = await post(api, `/v1/admin/users/${target.id}/revoke-sessions`, {}, reader.bearer);
    expect(refused.status).toBe(403);
  });

  test("edits a user's name and metadata, audited with the operator as actor; other fields and readers are refused", async () => {
    const target = await signUpUser(api, { name: "Before" });
    const patch = (json: unknown, headers = operator.bearer) =>
      api.request(`/v1/admin/users/${target.id}`, { method: "PATCH", headers, json });
    const edited = await patch({ name: "After", metadata: { plan: "pro" } });
    expect(edited.status).toBe(200);
    expect(await edited.json()).toMatchObject({ name: "After", metadata: { plan: "pro" } });
    const entry = (await auditActions(target.id)).find((candidate) => candidate.action === "user.profile_updated");
    expect(entry?.actorId).toBe(operator.id);
    for (const [response, status, code] of [
      [await patch({ status: "active" }), 400, "validation_failed"],
      [await patch({ email: "other@example.com" }), 400, "validation_failed"],
      [await patch({ name: "Reader" }, reader.bearer), 403, "forbidden"],
    ] as const) {
      expect(response.status).toBe(status);
      expect((await readProblem(response)).code).toBe(code);
    }
    const after = (await (await api.request("/v1/me", { headers: target.bearer })).json()) as {
      name: string;
      email: string;
    };
    expect(after).toMatchObject({ name: "After", email: target.email });
  });

  test("unlocks an address locked by failed sign-ins", async () => {
    const target = await signUpUser(api);
    for (let attempt = 0; attempt < 5; attempt++) await signIn(api, target.email, "not the password");
    expect((await signIn(api, target.email, target.password)).status).toBe(429);
    const unlocked = await post(api, `/v1/admin/users/${target.id}/unlock`, {}, operator.bearer);
    expect(unlocked.status).toBe(200);
    expect((await signIn(api, target.email, target.password)).status).toBe(200);
    expect((await auditActions(target.id)).some((entry) => entry.action === "user.unlocked")).toBe(true);
  });

  test("an API key with the users:read scope can search, and cannot suspend without users:manage", async () => {
    const created = await api.request("/v1/api-keys", {
      method: "POST",
      headers: operator.bearer,
      json: { name: "support bot", scopes: ["users:read"] },
    });
    expect(created.status).toBe(201);
    const key = { authorization: `Bearer ${((await created.json()) as { secret: string }).secret}` };
    expect((await api.request(`/v1/admin/users/${reader.id}`, { headers: key })).status).toBe(200);
    const refused = await post(api, `/v1/admin/users/${reader.id}/suspend`, {}, key);
    expect(refused.status).toBe(403);
    expect((await readProblem(refused)).detail).toContain("users:manage");
    expect((await api.request("/v1/me", { headers: reader.bearer })).status).toBe(200);
  });

  test("refuses without the permission, for oneself, and for bad input, changing nothing", async () => {
    const target = await signUpUser(api);
    const nobody = await signUpUser(api);
    const cases: [Response, number, string][] = [
      [await api.request("/v1/admin/users"), 401, "unauthenticated"],
      [await api.request("/v1/admin/users", { headers: nobody.bearer }), 403, "forbidden"],
      [await post(api, `/v1/admin/users/${target.id}/suspend`, {}, reader.bearer), 403, "forbidden"],
      [
        await api.request(`/v1/admin/users/${target.id}`, { method: "DELETE", headers: reader.bearer }),
        403,
        "forbidden",
      ],
      [await post(api, `/v1/admin/users/${operator.id}/suspend`, {}, operator.bearer), 403, "forbidden"],
      [
        await api.request(`/v1/admin/users/${operator.id}`, { method: "DELETE", headers: operator.bearer }),
        403,
        "forbidden",
      ],
      [await api.request("/v1/admin/users/usr_nope", { headers: operator.bearer }), 400, "invalid_id"],
      [
        await api.request("/v1/admin/users/org_00000000000000000000000000", { headers: operator.bearer }),
        400,
        "invalid_id",
      ],
      [
        await api.request("/v1/admin/users/usr_00000000000000000000000000", { headers: operator.bearer }),
        404,
        "not_found",
      ],
      [await api.request("/v1/admin/users?status=sleeping", { headers: operator.bearer }), 400, "validation_failed"],
      [await api.request("/v1/admin/users?limit=0", { headers: operator.bearer }), 400, "validation_failed"],
      [await api.request("/v1/admin/users?cursor=abc", { headers: operator.bearer }), 400, "validation_failed"],
      [
        await api.request(`/v1/admin/users?query=${"x".repeat(321)}`, { headers: operator.bearer }),
        400,
        "validation_failed",
      ],
    ];
    for (const [response, status, code] of cases) {
      expect(response.status).toBe(status);
      expect((await readProblem(response)).code).toBe(code);
    }
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(200);
    expect((await api.request("/v1/me", { headers: operator.bearer })).status).toBe(200);
    const written = (await auditActions(target.id)).map((entry) => entry.action);
    for (const action of ["user.suspended", "user.deleted"]) expect(written).not.toContain(action);
  });

  test("deleting a user or ending all their sessions needs an operator's session to have authenticated in the last 10 minutes", async () => {
    const target = await signUpUser(api);
    api.clock.advance(11 * 60_000);
    for (const [method, path] of [
      ["DELETE", `/v1/admin/users/${target.id}`],
      ["POST", `/v1/admin/users/${target.id}/revoke-sessions`],
    ] as const) {
      const refused = await api.request(path, { method, headers: operator.bearer });
      expect(refused.status).toBe(403);
      expect((await readProblem(refused)).code).toBe("reauthentication_required");
    }
    // Nothing changed: the account is there and its session still works.
    expect((await api.request(`/v1/admin/users/${target.id}`, { headers: operator.bearer })).status).toBe(200);
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(200);

    expect((await reauthenticate(api, operator)).status).toBe(200);
    const revoked = await post(api, `/v1/admin/users/${target.id}/revoke-sessions`, {}, operator.bearer);
    expect(revoked.status).toBe(200);
    expect((await api.request("/v1/me", { headers: target.bearer })).status).toBe(401);
  });

  test("GET /v1/admin/overview answers the console's overview, each part for the permissions that cover it", async () => {
    const full = await api.request("/v1/admin/overview?days=3", { headers: operator.bearer });
    expect(full.status).toBe(200);
    const body = (await full.json()) as { users: { byStatus: Record<string, number> }; activity: unknown[] };
    expect(body.users.byStatus.active).toBeGreaterThan(0);
    expect(body.activity).toHaveLength(3);
    const partial = (await (await api.request("/v1/admin/overview", { headers: reader.bearer })).json()) as {
      activity: unknown;
    };
    expect(partial.activity).toBeNull();
    const nobody = await signUpUser(api);
    const refused = await api.request("/v1/admin/overview", { headers: nobody.bearer });
    expect(refused.status).toBe(403);
    expect((await api.request("/v1/admin/overview?days=0", { headers: operator.bearer })).status).toBe(400);
  });
});

describe("POST /v1/admin/users", () => {
  let api: TestApi;
  let operator: TestUser;
  const mail = createTestMailServer();
  beforeAll(async () => {
    api = await createTestApi({}, { mail });
    operator = await signUpUser(api);
    await grantPlatformPermissions(api, operator.id, ["users:read", "users:manage", "audit:read"]);
  });
  afterAll(() => api.close());

  test("makes an invited account whose owner sets it up through the mailed link, then signs in", async () => {
    const created = await post(
      api,
      "/v1/admin/users",
      { email: "new.hire@example.com", name: "New Hire" },
      operator.bearer,
    );
    expect(created.status).toBe(201);
    const user = (await created.json()) as { id: string; status: string; name: string };
    expect(user).toMatchObject({ status: "invited", name: "New Hire" });
    // Until it is set up, the account cannot sign in (and says no more than for an unknown address).
    const early = await signIn(api, "new.hire@example.com", "whatever password it is");
    expect((await readProblem(early)).code).toBe("invalid_credentials");

    await api.runJobs();
    const link = await mail.linkTo("new.hire@example.com", "/auth/account-setup");
    const setUp = await api.request("/auth/account-setup", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams({ token: link.searchParams.get("token")!, password: PASSWORD }).toString(),
    });
    expect(setUp.status).toBe(200);
    expect((await signIn(api, "new.hire@example.com", PASSWORD)).status).toBe(200);
    const audit = await api.platform.auditTrail.search(operator.id, { targetId: user.id, action: "user.created" });
    expect(audit.data[0]?.actorId).toBe(operator.id);
  });

  test("refuses a taken address, bad input and callers without users:manage, creating nothing", async () => {
    const taken = await post(api, "/v1/admin/users", { email: operator.email }, operator.bearer);
    expect(taken.status).toBe(409);
    expect((await readProblem(taken)).code).toBe("email_taken");
    const bad = await post(api, "/v1/admin/users", { email: "not-an-address" }, operator.bearer);
    expect((await readProblem(bad)).code).toBe("validation_failed");
    const extra = await post(api, "/v1/admin/users", { email: "x@example.com", role: "admin" }, operator.bearer);
    expect(extra.status).toBe(400);
    const someone = await signUpUser(api);
    const refused = await post(api, "/v1/admin/users", { email: "y@example.com" }, someone.bearer);
    expect(refused.status).toBe(403);
    expect(await api.platform.auth.users.findByEmail(api.database.db, "x@example.com")).toBeUndefined();
    expect(await api.platform.auth.users.findByEmail(api.database.db, "y@example.com")).toBeUndefined();
  });
});

describe("impersonation", () => {
  let api: TestApi;
  let operator: TestUser;
  beforeAll(async () => {
    api = await createTestApi();
    operator = await signUpUser(api);
    await grantPlatformPermissions(api, operator.id, ["users:read", "users:impersonate", "audit:read"]);
  });
  afterAll(() => api.close());

  /** Opens the link's hosted page and presses its button, as the operator's browser would; the cookie it sets. */
  async function start(url: string): Promise<Response> {
    const link = new URL(url);
    expect((await api.request(`${link.pathname}${link.search}`)).status).toBe(200);
    return api.request("/auth/impersonate", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams({ token: link.searchParams.get("token")! }).toString(),
    });
  }
  const cookieOf = (response: Response) => /burrow_session=([^;]+)/.exec(response.headers.get("set-cookie") ?? "")![1]!;

  test("a one-time link starts a 30-minute session as the user that names the operator in everything it does", async () => {
    const target = await signUpUser(api, { name: "Ivy Impersonated" });
    const made = await post(api, `/v1/admin/users/${target.id}/impersonate`, {}, operator.bearer);
    expect(made.status).toBe(201);
    const { url } = (await made.json()) as { url: string; expiresAt: string };
    expect(url).toStartWith(`${ORIGIN}/auth/impersonate?token=`);
    const page = await start(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`signed in as ${target.email}`);
    const headers = { cookie: `burrow_session=${cookieOf(page)}`, origin: ORIGIN };

    const session = (await (await api.request("/v1/auth/session", { headers })).json()) as {
      user: { id: string };
      session: { impersonatedBy: string | null; expiresAt: string; createdAt: string };
    };
    expect(session.user.id).toBe(target.id);
    expect(session.session.impersonatedBy).toBe(operator.id);
    expect(Date.parse(session.session.expiresAt) - Date.parse(session.session.createdAt)).toBe(30 * 60_000);

    // What it does is the user's change, recorded with the operator's name.
    expect((await api.request("/v1/me", { method: "PATCH", headers, json: { name: "Ivy Edited" } })).status).toBe(200);
    const edits = await api.platform.auditTrail.search(operator.id, {
      action: "user.profile_updated",
      targetId: target.id,
    });
    expect(edits.data[0]?.metadata).toMatchObject({ impersonatedBy: operator.id });
    const started = await api.platform.auditTrail.search(operator.id, { action: "user.impersonation_started" });
    expect(started.data[0]).toMatchObject({ actorId: operator.id, targetId: target.id });
    // It never counts as a recent authentication: no password change as the user.
    const change = await api.request("/v1/auth/password/change", {
      method: "POST",
      headers,
      json: { currentPassword: PASSWORD, newPassword: "another long password here" },
    });
    expect((await readProblem(change)).code).toBe("reauthentication_required");

    // The link works once; the session ends after 30 minutes however busy.
    expect((await start(url)).status).toBe(400);
    api.clock.advance(31 * 60_000);
    expect((await api.request("/v1/auth/session", { headers })).status).toBe(401);
  });

  test("never for oneself, an operator or a suspended account, nor without the permission", async () => {
    const fresh = await signUpUser(api);
    await grantPlatformPermissions(api, fresh.id, ["users:read", "users:impersonate"]);
    const other = await signUpUser(api);
    await grantPlatformPermissions(api, other.id, ["users:read"]);
    expect((await post(api, `/v1/admin/users/${fresh.id}/impersonate`, {}, fresh.bearer)).status).toBe(403);
    expect((await post(api, `/v1/admin/users/${other.id}/impersonate`, {}, fresh.bearer)).status).toBe(403);
    const suspended = await signUpUser(api);
    await grantPlatformPermissions(api, fresh.id, ["users:read", "users:impersonate", "users:manage"]);
    await api.platform.userAdministration.suspend(fresh.id, suspended.id as never, {});
    const refused = await post(api, `/v1/admin/users/${suspended.id}/impersonate`, {}, fresh.bearer);
    expect(refused.status).toBe(409);
    const someone = await signUpUser(api);
    expect((await post(api, `/v1/admin/users/${someone.id}/impersonate`, {}, other.bearer)).status).toBe(403);
    const audit = await api.platform.auditTrail.search(operator.id, {
      action: "user.impersonation_link_created",
      targetId: someone.id,
    });
    expect(audit.data).toEqual([]);
  });
});
