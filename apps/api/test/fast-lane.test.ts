import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Logger, UserId } from "@burrow/platform-core";
import { platformEdge, sessionFastLane, type FastLane } from "@burrow/platform-http";
import { createTestApi, ORIGIN, signUpUser, type TestApi, type TestUser } from "./helpers.ts";

/**
 * The session check's fast lane (`Burrow.fetch`, what `bun start` serves): a GET /v1/auth/session
 * the caches can answer is answered without the middleware chain. It must answer exactly as the
 * routes do, leave the same log line and metrics, and step aside for everything it cannot tell.
 * (Every other API test goes through it too: createTestApi serves as `bun start` does.)
 */
const lines: Record<string, unknown>[] = [];
const log: Logger = {
  debug: () => {},
  info: (message, fields = {}) => void lines.push({ message, ...fields }),
  warn: () => {},
  error: () => {},
};

describe("the session check's fast lane", () => {
  let api: TestApi;
  let user: TestUser;
  let lane: FastLane;
  const session = (headers: Record<string, string>, path = "/v1/auth/session", init: RequestInit = {}) =>
    new Request(`http://localhost${path}`, { ...init, headers });
  const cookie = (token: string) => ({ cookie: `burrow_session=${encodeURIComponent(token)}`, origin: ORIGIN });

  beforeAll(async () => {
    api = await createTestApi({}, { log });
    user = await signUpUser(api, { name: "Lane User" });
    const { platform } = api;
    lane = sessionFastLane({
      config: platform.config,
      edge: platformEdge(platform),
      sessions: platform.auth.sessions,
      accessTokens: platform.auth.accessTokens,
    });
  });
  afterAll(async () => {
    await api?.close();
  });

  /** The route's own answer (the middleware chain), and the lane's to the same request. */
  async function both(headers: Record<string, string>): Promise<[Response, Response | undefined]> {
    const routes = await api.app.request("/v1/auth/session", { headers }, { remoteAddress: "192.0.2.10" });
    return [routes, await lane(session(headers))];
  }

  /** The lane's answer from memory alone: a Response at once, never a promise. */
  function fromMemory(headers: Record<string, string>): Response | undefined {
    const answered = lane(session(headers));
    return answered instanceof Response ? answered : undefined;
  }

  /**
   * Reads the session through the routes until the lane answers it: on PostgreSQL the NOTIFY of
   * the change that made or touched it arrives after the commit and may evict what a read had just
   * cached (as it must: the read may predate the change). Never sleeps; yields to the event loop.
   */
  async function cached(headers: Record<string, string>): Promise<Response> {
    const end = performance.now() + 5_000;
    for (;;) {
      expect((await api.request("/v1/auth/session", { headers })).status).toBe(200);
      const answered = fromMemory(headers);
      if (answered !== undefined) return answered;
      if (performance.now() > end) throw new Error("the session was never answered from the cache");
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  const comparable = (response: Response) =>
    [...response.headers.entries()].filter(([name]) => name !== "x-request-id" && name !== "date").sort();

  test("a session not cached yet is validated by the lane as the routes would; once cached, answered from memory", async () => {
    const fresh = await signUpUser(api);
    // Sign-up's own validation is a write (never cached): the first read goes to the database.
    const first = lane(session(fresh.bearer));
    expect(first).toBeInstanceOf(Promise);
    expect((await first)?.status).toBe(200);
    expect((await cached(fresh.bearer)).status).toBe(200);
  });

  test("answers exactly as the routes do: status, headers and body, by cookie, token and access token", async () => {
    const { accessToken } = (await (
      await api.request("/v1/auth/token", { method: "POST", headers: user.bearer, json: { grantType: "session" } })
    ).json()) as { accessToken: string };
    for (const headers of [user.bearer, cookie(user.token), { authorization: `Bearer ${accessToken}` }]) {
      await cached(headers);
      const [routes, fast] = await both(headers);
      expect(fast).toBeDefined();
      expect(fast!.status).toBe(routes.status);
      expect(routes.status).toBe(200);
      expect(comparable(fast!)).toEqual(comparable(routes));
      expect(await fast!.text()).toBe(await routes.text());
      expect(fast!.headers.get("x-request-id")).toMatch(/^req_/);
    }
    // An allowed Origin is echoed as the routes echo it; the caller's own well-formed request id is kept.
    const [routes, fast] = await both({ ...user.bearer, origin: ORIGIN, "x-request-id": "trace-0123456789" });
    expect(fast!.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    expect(comparable(fast!)).toEqual(comparable(routes));
    expect(fast!.headers.get("x-request-id")).toBe("trace-0123456789");
  });

  test("leaves the same log line and counts the same metrics as the routes", async () => {
    await cached(user.bearer);
    lines.length = 0;
    await both(user.bearer);
    const [viaRoutes, viaLane] = lines.filter((line) => line.message === "request");
    expect(viaLane).toBeDefined();
    const shape = ({ requestId: _id, durationMs: _ms, ...rest }: Record<string, unknown>) => rest;
    expect(shape(viaLane!)).toEqual(shape(viaRoutes!));
    expect(viaLane).toMatchObject({ route: "/v1/auth/session", status: 200, method: "GET", userId: user.id });
    const metrics = await api.platform.prometheus.render();
    const served = (text: string) =>
      Number(
        /burrow_http_requests_total\{route="\/v1\/auth\/session",method="GET",status="200"\} (\d+)/.exec(text)?.[1],
      );
    const before = served(metrics);
    expect(fromMemory(user.bearer)?.status).toBe(200);
    expect(served(await api.platform.prometheus.render())).toBe(before + 1);
  });

  test("steps aside for what it cannot tell on its own, and the routes decide", async () => {
    expect(lane(session(user.bearer, "/v1/auth/session?x=1"))).toBeUndefined();
    expect(lane(session(user.bearer, "/v1/auth/sessions"))).toBeUndefined();
    expect(lane(session(user.bearer, "/v1/auth/session", { method: "HEAD" }))).toBeUndefined();
    expect(lane(session({ ...user.bearer, "x-api-key": "bk_x" }))).toBeUndefined();
    expect(lane(session({ authorization: "Basic abc" }))).toBeUndefined();
    expect(lane(session({}))).toBeUndefined();
    // A wrong secret for a cached session's id: never answered here, refused by the routes, and
    // validated once (the lane hands what it learned over), not twice.
    const forged = `${user.token.slice(0, user.token.indexOf("."))}.${"x".repeat(43)}`;
    expect(fromMemory({ authorization: `Bearer ${forged}` })).toBeUndefined();
    expect(await lane(session({ authorization: `Bearer ${forged}` }))).toBeUndefined();
    const invalid = async () =>
      Number(
        /burrow_sessions_validated_total\{outcome="invalid"\} (\d+)/.exec(
          await api.platform.prometheus.render(),
        )?.[1] ?? 0,
      );
    const before = await invalid();
    const refused = await api.request("/v1/auth/session", { headers: { authorization: `Bearer ${forged}` } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(await invalid()).toBe(before + 1);
  });

  test("a revoked or suspended session is never answered by the lane", async () => {
    const revoked = await signUpUser(api);
    expect((await cached(revoked.bearer)).status).toBe(200);
    expect((await api.request("/v1/auth/sign-out", { method: "POST", headers: revoked.bearer })).status).toBe(204);
    expect(await lane(session(revoked.bearer))).toBeUndefined();
    expect((await api.request("/v1/auth/session", { headers: revoked.bearer })).status).toBe(401);

    const suspended = await signUpUser(api);
    expect((await cached(suspended.bearer)).status).toBe(200);
    await api.platform.db.transaction((tx) =>
      api.platform.auth.users.suspend(tx, suspended.id as UserId, "system", {}),
    );
    expect(await lane(session(suspended.bearer))).toBeUndefined();
    expect((await api.request("/v1/auth/session", { headers: suspended.bearer })).status).toBe(401);
  });

  test("the held answer follows the session: a new activity time, a new name", async () => {
    const first = (await (await cached(user.bearer)).json()) as { session: { lastActiveAt: string } };
    // Past the activity refresh the write is due: not from memory; validated (and written), then answered anew.
    api.clock.advance(api.config.session.activityRefreshMs + 1_000);
    expect(fromMemory(user.bearer)).toBeUndefined();
    const written = (await (await lane(session(user.bearer)))!.json()) as { session: { lastActiveAt: string } };
    expect(written.session.lastActiveAt).not.toBe(first.session.lastActiveAt);
    const after = (await (await cached(user.bearer)).json()) as { session: { lastActiveAt: string } };
    expect(after.session.lastActiveAt).toBe(written.session.lastActiveAt);

    expect(
      (await api.request("/v1/me", { method: "PATCH", headers: user.bearer, json: { name: "Renamed" } })).status,
    ).toBe(200);
    const renamed = (await (await cached(user.bearer)).json()) as { user: { name: string } };
    expect(renamed.user.name).toBe("Renamed");
  });
  // Last: it moves the clock past every session's idle timeout.
  test("a cached session past its idle timeout is not answered by the lane (its own checks, not only eviction)", async () => {
    const idle = await signUpUser(api);
    expect((await cached(idle.bearer)).status).toBe(200);
    // Nothing evicts it: only time passes (the test clock), and the entry is still held.
    api.clock.advance(api.config.session.idleTimeoutMs + 1_000);
    expect(fromMemory(idle.bearer)).toBeUndefined();
    expect(await lane(session(idle.bearer))).toBeUndefined();
    expect((await api.request("/v1/auth/session", { headers: idle.bearer })).status).toBe(401);
  });
});
