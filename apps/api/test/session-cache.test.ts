import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import {
  createDatabase,
  LISTENING_APPLICATION_NAME,
  silentLogger,
  type DatabaseHandle,
  type UserId,
} from "@burrow/platform-core";
import type { TestDatabase } from "@burrow/platform-core/testing";
import { SESSIONS_CHANNEL } from "@burrow/platform-auth";
import { composePlatform, createApp, listenForChanges, type Platform } from "@burrow/platform-http";
import { createTestApi, ORIGIN, signIn, signUpUser, type TestApi, type TestUser } from "./helpers.ts";

/**
 * The session cache across nodes. On PostgreSQL the second node is a second composed platform with
 * its own pool and its own listening connection on the same database; on PGlite (one process) it is
 * the first node again, which still proves the local eviction.
 */
interface Node {
  platform: Platform;
  request(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

async function secondNode(api: TestApi): Promise<Node> {
  const url = (api.database as TestDatabase).url;
  if (url === undefined)
    return { platform: api.platform, request: (path, init) => api.request(path, init), close: async () => {} };
  const database: DatabaseHandle = await createDatabase({ databaseUrl: url, maxConnections: 3 });
  const platform = composePlatform({ config: api.config, database, clock: api.clock, log: silentLogger });
  await platform.auth.signingKeys.load();
  await listenForChanges(platform);
  const app = createApp(platform);
  return {
    platform,
    request: async (path, init) => app.request(path, init, { remoteAddress: "192.0.2.20" }),
    close: () => database.close(),
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const sessionIdOf = (token: string) => token.slice(0, token.indexOf("."));

/** Polls until `check` holds; fails after the deadline. Each round yields to the event loop, never sleeps. */
async function eventually(check: () => Promise<boolean>, what: string, deadlineMs = 5_000): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!(await check())) {
    if (performance.now() > end) throw new Error(`${what}: not within ${deadlineMs} ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Writes the user's name behind every cache's back (no notification): only a read of the database sees it. */
async function renameBehindTheCache(api: TestApi, userId: string, name: string): Promise<void> {
  await api.platform.db.execute(sql`update users set name = ${name} where id = ${userId}`);
}

async function nameSeen(node: Node, token: string): Promise<string | null> {
  const response = await node.request("/v1/auth/session", { headers: bearer(token) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { user: { name: string | null } }).user.name;
}

const status = async (node: Node, token: string) =>
  (await node.request("/v1/auth/session", { headers: bearer(token) })).status;

describe("session cache across nodes", () => {
  let api: TestApi;
  let other: Node;
  beforeAll(async () => {
    api = await createTestApi();
    other = await secondNode(api);
  });
  afterAll(async () => {
    await other?.close();
    await api?.close();
  });

  /**
   * Waits until the other node has heard every eviction committed so far: notifications reach a
   * listener in commit order, so once a marker sent now arrives, all before it have been applied.
   */
  async function settled(): Promise<void> {
    const marker = `test:${crypto.randomUUID()}`;
    let heard = false;
    const unlisten = await other.platform.database.listen(SESSIONS_CHANNEL, (payload) => {
      if (payload === marker) heard = true;
    });
    try {
      await api.platform.db.execute(sql`select pg_notify(${SESSIONS_CHANNEL}, ${marker})`);
      await eventually(async () => heard, "the marker heard");
    } finally {
      await unlisten();
    }
  }

  /**
   * A user with two sessions; the second is validated on the other node, and proven to be served
   * from its cache there (a name written behind the cache's back is not seen).
   */
  async function cachedOnOtherNode(): Promise<{ user: TestUser; second: string }> {
    const user = await signUpUser(api, { name: "Before" });
    const second = ((await (await signIn(api, user.email, user.password)).json()) as { sessionToken: string })
      .sessionToken;
    // The sign-in itself evicts the user's sessions (their last sign-in time changed): let it land first.
    await settled();
    expect(await nameSeen(other, second)).toBe("Before");
    await renameBehindTheCache(api, user.id, "Behind");
    expect(await nameSeen(other, second)).toBe("Before");
    expect(other.platform.auth.sessions.cache.get(sessionIdOf(second))).toBeDefined();
    return { user, second };
  }

  test("a revoked session is refused on the other node right after the change", async () => {
    const { user, second } = await cachedOnOtherNode();
    const revoked = await api.request(`/v1/auth/sessions/${sessionIdOf(second)}`, {
      method: "DELETE",
      headers: user.bearer,
    });
    expect(revoked.status).toBe(204);
    await eventually(async () => (await status(other, second)) === 401, "the revoked session refused");
    expect(await status(other, user.token)).toBe(200);
  });

  test("a suspended user's session is refused on the other node right after the change", async () => {
    const { user, second } = await cachedOnOtherNode();
    await api.platform.db.transaction((tx) => api.platform.auth.users.suspend(tx, user.id as UserId, "system", {}));
    await eventually(async () => (await status(other, second)) === 401, "the suspended user's session refused");
  });

  test("a deleted user's session is refused on the other node right after the change", async () => {
    const { user, second } = await cachedOnOtherNode();
    expect((await api.request("/v1/me", { method: "DELETE", headers: user.bearer })).status).toBe(204);
    await eventually(async () => (await status(other, second)) === 401, "the deleted user's session refused");
  });

  test("a password change ends the other sessions on the other node right after the change", async () => {
    const { user, second } = await cachedOnOtherNode();
    const changed = await api.request("/v1/auth/password/change", {
      method: "POST",
      headers: { ...user.bearer, "content-type": "application/json" },
      body: JSON.stringify({ currentPassword: user.password, newPassword: "a brand new passphrase" }),
    });
    expect(changed.status).toBe(204);
    await eventually(async () => (await status(other, second)) === 401, "the other session refused");
    // The session that changed it stays, and is read afresh: the name written meanwhile shows.
    expect(await nameSeen(other, user.token)).toBe("Behind");
  });

  test("an access token stops working on the other node once its session is revoked", async () => {
    const { user, second } = await cachedOnOtherNode();
    const minted = await api.request("/v1/auth/token", {
      method: "POST",
      headers: { ...bearer(second), "content-type": "application/json" },
      body: JSON.stringify({ grantType: "session" }),
    });
    expect(minted.status).toBe(200);
    const { accessToken } = (await minted.json()) as { accessToken: string };
    expect(await status(other, accessToken)).toBe(200);
    expect(await status(other, accessToken)).toBe(200);
    const revoked = await api.request(`/v1/auth/sessions/${sessionIdOf(second)}`, {
      method: "DELETE",
      headers: user.bearer,
    });
    expect(revoked.status).toBe(204);
    await eventually(async () => (await status(other, accessToken)) === 401, "the access token refused");
  });

  test("a sign-in that replaces the session the browser held ends it on the other node too", async () => {
    const { user, second } = await cachedOnOtherNode();
    const again = await api.request("/v1/auth/sign-in", {
      method: "POST",
      headers: { cookie: `burrow_session=${second}`, origin: ORIGIN, "content-type": "application/json" },
      body: JSON.stringify({ email: user.email, password: user.password }),
    });
    expect(again.status).toBe(200);
    await eventually(async () => (await status(other, second)) === 401, "the replaced session refused");
  });

  test("an operator ending every session ends them on the other node too", async () => {
    const { user, second } = await cachedOnOtherNode();
    expect((await api.platform.operator.revokeAllSessions()).revoked).toBeGreaterThan(0);
    await eventually(async () => (await status(other, second)) === 401, "every session refused");
    expect(await status(other, user.token)).toBe(401);
  });

  test("a sign-in's time shows on the other node: the user's cached sessions are dropped once it commits", async () => {
    const { user, second } = await cachedOnOtherNode();
    api.clock.advance(1_000);
    const at = api.clock.now().toISOString();
    expect((await signIn(api, user.email, user.password)).status).toBe(200);
    const lastSignInSeen = async () =>
      (
        (await (await other.request("/v1/auth/session", { headers: bearer(second) })).json()) as {
          user: { lastSignInAt: string };
        }
      ).user.lastSignInAt;
    await eventually(async () => (await lastSignInSeen()) === at, "the new sign-in time seen");
    // Dropped, not patched: the rest of the user is read afresh with it.
    expect(await nameSeen(other, second)).toBe("Behind");
  });

  test("a sign-in tells the nodes about the user only when another session of theirs is live", async () => {
    const user = await signUpUser(api);
    const heard: string[] = [];
    const unlisten = await other.platform.database.listen(SESSIONS_CHANNEL, (payload) => void heard.push(payload));
    try {
      const signInAndSettle = async () => {
        expect((await signIn(api, user.email, user.password)).status).toBe(200);
        await settled();
      };
      // Its sign-up's session lives: the sign-in is announced.
      await signInAndSettle();
      expect(heard).toContain(`u:${user.id}`);
      // With every session ended, no node can serve one of them: nothing to tell.
      await api.platform.db.transaction((tx) => api.platform.auth.sessions.revokeAll(tx, user.id as UserId, "test"));
      await settled();
      heard.length = 0;
      await signInAndSettle();
      expect(heard.filter((payload) => payload === `u:${user.id}`)).toEqual([]);
    } finally {
      await unlisten();
    }
  });

  test("a profile change shows on the other node: the cached user is dropped too", async () => {
    const { user, second } = await cachedOnOtherNode();
    const patched = await api.request("/v1/me", {
      method: "PATCH",
      headers: { ...user.bearer, "content-type": "application/json" },
      body: JSON.stringify({ name: "After" }),
    });
    expect(patched.status).toBe(200);
    await eventually(async () => (await nameSeen(other, second)) === "After", "the new name seen");
  });

  test("a write is validated against the database, never the cache", async () => {
    const { user, second } = await cachedOnOtherNode();
    // Revoked behind the cache's back: a read still finds the cached session, a write does not.
    await api.platform.db.execute(sql`update auth_sessions set revoked_at = now() where id = ${sessionIdOf(second)}`);
    expect(await status(other, second)).toBe(200);
    const write = await other.request("/v1/me", {
      method: "PATCH",
      headers: { ...bearer(second), "content-type": "application/json" },
      body: JSON.stringify({ name: "Stolen" }),
    });
    expect(write.status).toBe(401);
    expect(await nameSeen(other, user.token)).not.toBe("Stolen");
  });

  test("while a node is not listening it reads the database, and keeps nothing", async () => {
    const { user, second } = await cachedOnOtherNode();
    const cache = other.platform.auth.sessions.cache;
    cache.listener.onConnectionChange!(false);
    try {
      expect(cache.trusted).toBe(false);
      expect(await nameSeen(other, second)).toBe("Behind");
      await renameBehindTheCache(api, user.id, "Deaf");
      expect(await nameSeen(other, second)).toBe("Deaf");
      expect(cache.size).toBe(0);
    } finally {
      cache.listener.onConnectionChange!(true);
    }
    expect(await nameSeen(other, second)).toBe("Deaf");
    expect(cache.size).toBe(1);
  });

  // A real drop needs a real listening connection to cut: PostgreSQL only (reported as skipped on PGlite).
  test.skipIf(process.env.DATABASE_URL === undefined)(
    "a dropped LISTEN connection is noticed, and the cache is emptied when it is back",
    async () => {
      const { user, second } = await cachedOnOtherNode();
      const heard: boolean[] = [];
      await other.platform.database.listen(SESSIONS_CHANNEL, () => {}, {
        onConnectionChange: (connected) => heard.push(connected),
      });
      expect(heard).toEqual([true]);
      const terminated = await api.platform.db.execute(
        sql`select pg_terminate_backend(pid) from pg_stat_activity
             where datname = current_database() and application_name = ${LISTENING_APPLICATION_NAME}`,
      );
      expect(Array.isArray(terminated) ? terminated.length : 0).toBeGreaterThan(0);
      await eventually(async () => heard.includes(false), "the drop noticed");
      await eventually(async () => heard.at(-1) === true, "listening again");
      expect(heard).toEqual([true, false, true]);
      expect(other.platform.auth.sessions.cache.trusted).toBe(true);
      // What was cached before the drop is gone: the name written behind it shows now.
      expect(await nameSeen(other, second)).toBe("Behind");
      // And evictions are heard again on the new connection.
      const revoked = await api.request(`/v1/auth/sessions/${sessionIdOf(second)}`, {
        method: "DELETE",
        headers: user.bearer,
      });
      expect(revoked.status).toBe(204);
      await eventually(async () => (await status(other, second)) === 401, "the revoked session refused");
    },
  );
});

describe("BURROW_SESSION_CACHE=off", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi({ BURROW_SESSION_CACHE: "off" });
  });
  afterAll(() => api?.close());

  test("every validation reads the database", async () => {
    const user = await signUpUser(api, { name: "Before" });
    const node: Node = {
      platform: api.platform,
      request: (path, init) => api.request(path, init),
      close: async () => {},
    };
    expect(await nameSeen(node, user.token)).toBe("Before");
    await renameBehindTheCache(api, user.id, "Behind");
    expect(await nameSeen(node, user.token)).toBe("Behind");
    expect(api.platform.auth.sessions.cache.size).toBe(0);
    expect(api.platform.auth.sessions.cache.trusted).toBe(false);
  });
});

describe("access-token fast path", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api?.close());

  test("a token answered from memory still dies at its expiry", async () => {
    const user = await signUpUser(api);
    const minted = await api.request("/v1/auth/token", {
      method: "POST",
      headers: { ...user.bearer, "content-type": "application/json" },
      body: JSON.stringify({ grantType: "session" }),
    });
    const { accessToken, expiresIn } = (await minted.json()) as { accessToken: string; expiresIn: number };
    expect((await api.request("/v1/auth/session", { headers: bearer(accessToken) })).status).toBe(200);
    expect((await api.request("/v1/auth/session", { headers: bearer(accessToken) })).status).toBe(200);
    // Past `exp` and the tolerated clock skew (60 s): refused, cached or not.
    api.clock.advance(expiresIn * 1000 + 61_000);
    const expired = await api.request("/v1/auth/session", { headers: bearer(accessToken) });
    expect(expired.status).toBe(401);
    // The session itself is still fine: only the token ended.
    expect((await api.request("/v1/auth/session", { headers: user.bearer })).status).toBe(200);
  });
});
