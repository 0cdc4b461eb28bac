import { describe, expect, test } from "bun:test";
import type { PublicUser } from "../users/users.ts";
import type { SessionRow } from "./sessions.ts";
import { createSessionCache, SESSION_CACHE_TTL_MS, type CachedSession } from "./cache.ts";

/** An entry as validation stores it: a full row and its user. */
function entry(sessionId: string, userId: string): CachedSession {
  const at = new Date("2026-03-01T12:00:00.000Z");
  return {
    session: {
      id: sessionId,
      secretHash: "a".repeat(64),
      userId,
      createdAt: at,
      expiresAt: new Date(at.getTime() + 86_400_000),
      lastActiveAt: at,
      ip: "192.0.2.1",
      userAgent: "Test/1.0",
      authMethods: ["password", "totp"],
      authenticatedAt: at,
      revokedAt: null,
      revokedReason: null,
      restriction: null,
      audience: "app",
      impersonatorId: null,
    },
    user: {
      id: userId as PublicUser["id"],
      email: `${userId}@example.com`,
      name: 'Test "User"',
      avatarUrl: null,
      metadata: { plan: "pro", nested: { n: 1 } },
      status: "active",
      emailVerified: true,
      emailVerifiedAt: at.toISOString(),
      lastSignInAt: null,
      createdAt: at.toISOString(),
      updatedAt: at.toISOString(),
    },
  };
}

/** The session's part of the answer, as the cache is handed it: here its id and last activity. */
const sessionJson = (session: SessionRow) =>
  JSON.stringify({ id: session.id, lastActiveAt: session.lastActiveAt.toISOString() });

function listeningCache(maxEntries = 10) {
  const cache = createSessionCache({ maxEntries, sessionJson });
  cache.listener.onConnectionChange!(true);
  return cache;
}

describe("session cache", () => {
  test("holds nothing until its node is listening, and nothing while it is not", () => {
    const cache = createSessionCache({ maxEntries: 10, sessionJson });
    cache.store(entry("ses_a", "usr_1"), cache.epoch());
    expect(cache.size).toBe(0);
    cache.listener.onConnectionChange!(true);
    cache.store(entry("ses_a", "usr_1"), cache.epoch());
    expect(cache.get("ses_a")?.session.id).toBe("ses_a");
    cache.listener.onConnectionChange!(false);
    expect(cache.trusted).toBe(false);
    expect(cache.get("ses_a")).toBeUndefined();
    // Back: what was held before the drop is gone (evictions were missed meanwhile).
    cache.listener.onConnectionChange!(true);
    expect(cache.get("ses_a")).toBeUndefined();
  });

  test("turned off, it never holds anything", () => {
    const cache = createSessionCache({ maxEntries: undefined, sessionJson });
    cache.listener.onConnectionChange!(true);
    cache.store(entry("ses_a", "usr_1"), cache.epoch());
    expect(cache.trusted).toBe(false);
    expect(cache.get("ses_a")).toBeUndefined();
  });

  test("a notification drops the session it names, every session of the user it names, or all", () => {
    const cache = listeningCache();
    cache.store(entry("ses_a", "usr_1"), cache.epoch());
    cache.store(entry("ses_b", "usr_1"), cache.epoch());
    cache.store(entry("ses_c", "usr_2"), cache.epoch());
    cache.listener.onNotify("s:ses_c");
    expect(cache.get("ses_c")).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.listener.onNotify("u:usr_1");
    expect(cache.size).toBe(0);
    cache.store(entry("ses_c", "usr_2"), cache.epoch());
    cache.listener.onNotify("*");
    expect(cache.size).toBe(0);
    // Anything else on the channel is not an eviction.
    cache.store(entry("ses_c", "usr_2"), cache.epoch());
    cache.listener.onNotify("test:marker");
    expect(cache.get("ses_c")).toBeDefined();
  });

  test("a read that an eviction overtook is not stored: it may predate the change", () => {
    const cache = listeningCache();
    const before = cache.epoch();
    cache.listener.onNotify("u:usr_9");
    cache.store(entry("ses_a", "usr_1"), before);
    expect(cache.get("ses_a")).toBeUndefined();
    cache.store(entry("ses_a", "usr_1"), cache.epoch());
    expect(cache.get("ses_a")).toBeDefined();
  });

  test("is bounded: the oldest stored of its part goes first, and leaves the user's index too", () => {
    // Ids that end alike are held in one part (the cache is kept in 64, by the ids' last characters).
    const cache = listeningCache(2);
    cache.store(entry("ses_1xyz", "usr_1"), cache.epoch());
    cache.store(entry("ses_2xyz", "usr_2"), cache.epoch());
    cache.store(entry("ses_3xyz", "usr_3"), cache.epoch());
    expect(cache.size).toBe(2);
    expect(cache.get("ses_1xyz")).toBeUndefined();
    expect(cache.get("ses_2xyz")).toBeDefined();
    cache.listener.onNotify("u:usr_3");
    expect(cache.get("ses_3xyz")).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  test("is bounded whichever parts the ids fall in: the newest is always held", () => {
    const cache = listeningCache(10);
    const id = (i: number) => `ses_${i.toString(36).padStart(6, "0")}`;
    for (let i = 0; i < 500; i++) {
      cache.store(entry(id(i), `usr_${i}`), cache.epoch());
      expect(cache.size).toBe(Math.min(i + 1, 10));
      expect(cache.peek(id(i))).toBeDefined();
    }
    // Every user's index went with their entry: notifications for the users no longer held drop
    // nothing, and those for the users held drop all the rest.
    const held = Array.from({ length: 500 }, (_, i) => i).filter((i) => cache.peek(id(i)) !== undefined);
    expect(held).toHaveLength(10);
    for (let i = 0; i < 500; i++) if (!held.includes(i)) cache.listener.onNotify(`u:usr_${i}`);
    expect(cache.size).toBe(10);
    for (const i of held) cache.listener.onNotify(`u:usr_${i}`);
    expect(cache.size).toBe(0);
  });

  test("drops the entries that have outlived their time, and only those, with their users' index", () => {
    const cache = listeningCache(100);
    const ids = Array.from({ length: 40 }, (_, i) => `ses_${i}`);
    for (const [i, id] of ids.entries()) cache.store(entry(id, `usr_${i % 4}`), cache.epoch());
    const storedAt = new Map(ids.map((id) => [id, cache.peek(id)!.storedAt]));
    const cutoff = storedAt.get("ses_20")!;
    // Just short of the time of ses_20 and those stored with it: nothing has outlived it.
    expect(cache.dropExpired(cutoff + SESSION_CACHE_TTL_MS - 1)).toBe(
      ids.filter((id) => storedAt.get(id)! <= cutoff - 1).length,
    );
    const older = ids.filter((id) => storedAt.get(id)! <= cutoff);
    const before = cache.size;
    const dropped = cache.dropExpired(cutoff + SESSION_CACHE_TTL_MS);
    expect(cache.size).toBe(ids.length - older.length);
    expect(before - cache.size).toBe(dropped);
    for (const id of ids) expect(cache.peek(id) !== undefined).toBe(!older.includes(id));
    // The user index went with them: a notification for each user drops what is left, all of it.
    for (let user = 0; user < 4; user++) cache.listener.onNotify(`u:usr_${user}`);
    expect(cache.size).toBe(0);
  });

  test("hands out rows and users of their own, equal to what was stored; activity written moves the held one", () => {
    const cache = listeningCache();
    const stored = entry("ses_a", "usr_1");
    cache.store(stored, cache.epoch());
    const first = cache.get("ses_a")!;
    expect(first).toEqual(stored);
    expect(first.session).not.toBe(stored.session);
    // A caller changing what it was handed changes nothing held.
    first.session.authMethods.push("passkey");
    first.session.lastActiveAt = new Date(0);
    first.user.metadata.plan = "free";
    expect(cache.get("ses_a")).toEqual(stored);
    const peeked = cache.peek("ses_a")!;
    expect(peeked.userStatus).toBe("active");
    expect(peeked.lastActiveAt).toBe(stored.session.lastActiveAt.getTime());
    const answer = { user: stored.user, session: { id: "ses_a", lastActiveAt: "2026-03-01T12:00:00.000Z" } };
    expect(JSON.parse(cache.answerOf(peeked))).toEqual(answer);
    const later = new Date("2026-03-01T12:05:00.000Z");
    cache.noteActivity("ses_a", later);
    expect(cache.get("ses_a")!.session.lastActiveAt).toEqual(later);
    // The answer held moves with the activity: rendered again for it, the user's part unchanged.
    expect(JSON.parse(cache.answerOf(cache.peek("ses_a")!))).toEqual({
      user: stored.user,
      session: { id: "ses_a", lastActiveAt: "2026-03-01T12:05:00.000Z" },
    });
    cache.noteActivity("ses_a", new Date("2026-03-01T12:01:00.000Z"));
    expect(cache.get("ses_a")!.session.lastActiveAt).toEqual(later);
  });
});
