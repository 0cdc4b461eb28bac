import { describe, expect, test } from "bun:test";
import type { PublicUser } from "../users/users.ts";
import { createSessionCache, type CachedSession } from "./cache.ts";
import type { SessionRow } from "./sessions.ts";

/** An entry as validation stores it; only the ids matter to the cache. */
function entry(sessionId: string, userId: string): CachedSession {
  return {
    session: { id: sessionId, userId } as SessionRow,
    user: { id: userId } as PublicUser,
  };
}

function listeningCache(maxEntries = 10) {
  const cache = createSessionCache({ maxEntries });
  cache.listener.onConnectionChange!(true);
  return cache;
}

describe("session cache", () => {
  test("holds nothing until its node is listening, and nothing while it is not", () => {
    const cache = createSessionCache({ maxEntries: 10 });
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
    const cache = createSessionCache({ maxEntries: undefined });
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

  test("is bounded: the oldest stored goes first, and leaves the user's index too", () => {
    const cache = listeningCache(2);
    cache.store(entry("ses_a", "usr_1"), cache.epoch());
    cache.store(entry("ses_b", "usr_2"), cache.epoch());
    cache.store(entry("ses_c", "usr_3"), cache.epoch());
    expect(cache.size).toBe(2);
    expect(cache.get("ses_a")).toBeUndefined();
    expect(cache.get("ses_b")).toBeDefined();
    cache.listener.onNotify("u:usr_3");
    expect(cache.get("ses_c")).toBeUndefined();
    expect(cache.size).toBe(1);
  });
});
