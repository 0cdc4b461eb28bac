import { NO_METRICS, notify, type ChannelListener, type Database, type Metrics } from "@burrow/platform-core";
import type { PublicUser } from "../users/users.ts";
import type { SessionRow } from "./sessions.ts";

/** Nodes drop cached sessions when this channel names them (`s:<session id>`), their user (`u:<user id>`) or `*`. */
export const SESSIONS_CHANNEL = "burrow_sessions";

/** What validating a session needs, and answers: the row (with its secret's hash) and its user. */
export interface CachedSession {
  session: SessionRow;
  user: PublicUser;
}

/**
 * What changed: one session, everything of one user (their sessions, or the user the sessions
 * carry), or every session (`*`: an operator ended them all).
 */
export type SessionChange = { sessionId: string } | { userId: string } | "*";

export interface SessionCache {
  /** Whether entries may be served now: the cache is on and this node hears every eviction. */
  readonly trusted: boolean;
  readonly size: number;
  /** A live entry, or undefined (never one while untrusted). Counted as a hit or a miss. */
  get(sessionId: string): CachedSession | undefined;
  /** The same, uncounted and leaving a stale entry in place: for a look that `get` may follow. */
  peek(sessionId: string): CachedSession | undefined;
  /** Counts a hit (a `peek` that answered). */
  countHit(): void;
  /**
   * Take before reading the database, hand to `store` after: an eviction in between (the read may
   * predate the change it announced) keeps the read out of the cache.
   */
  epoch(): number;
  store(entry: CachedSession, epoch: number): void;
  /**
   * Call inside the transaction that changes a session or the user it carries: evicts here at once,
   * and through a NOTIFY delivered on commit, on every node (this one included, after the commit,
   * which also drops what a concurrent read cached before the commit).
   */
  changed(tx: Database, change: SessionChange): Promise<void>;
  /** The subscription to wire to `database.listen`: evictions, and whether this node is listening. */
  listener: ChannelListener;
}

/**
 * A safety net only (notifications are what keep entries fresh): it bounds the damage of an
 * eviction lost in a way the listening connection could not notice.
 */
export const SESSION_CACHE_TTL_MS = 60_000;

interface Entry extends CachedSession {
  storedAt: number;
}

/**
 * The in-process cache of validated sessions, keyed by session id, bounded in size (oldest stored
 * first out) and time. Trusted only while its node is listening on `SESSIONS_CHANNEL`: before the
 * first LISTEN holds, and from the moment the connection drops until it is back, every validation
 * reads the database; on reconnection everything is dropped, since notifications were missed.
 * `maxEntries: undefined` (BURROW_SESSION_CACHE=off) is a cache that never holds anything.
 */
export function createSessionCache(options: { maxEntries: number | undefined; metrics?: Metrics }): SessionCache {
  const metrics = options.metrics ?? NO_METRICS;
  const enabled = options.maxEntries !== undefined;
  const maxEntries = options.maxEntries ?? 0;
  const entries = new Map<string, Entry>();
  /** Session ids cached per user, so a user's change finds their sessions without a scan. */
  const byUser = new Map<string, Set<string>>();
  let listening = false;
  let evictions = 0;

  function remove(sessionId: string): void {
    const entry = entries.get(sessionId);
    if (entry === undefined) return;
    entries.delete(sessionId);
    const ids = byUser.get(entry.session.userId);
    ids?.delete(sessionId);
    if (ids?.size === 0) byUser.delete(entry.session.userId);
  }

  function clear(): void {
    evictions += 1;
    entries.clear();
    byUser.clear();
  }

  function evict(change: SessionChange): void {
    evictions += 1;
    if (change === "*") return clear();
    if ("sessionId" in change) return remove(change.sessionId);
    for (const sessionId of [...(byUser.get(change.userId) ?? [])]) remove(sessionId);
  }

  function parse(payload: string): SessionChange | undefined {
    if (payload === "*") return "*";
    if (payload.startsWith("s:")) return { sessionId: payload.slice(2) };
    if (payload.startsWith("u:")) return { userId: payload.slice(2) };
    return undefined;
  }

  return {
    get trusted() {
      return enabled && listening;
    },
    get size() {
      return entries.size;
    },
    get(sessionId) {
      if (!enabled || !listening) return undefined;
      const entry = entries.get(sessionId);
      if (entry !== undefined && Date.now() - entry.storedAt < SESSION_CACHE_TTL_MS) {
        metrics.count("session_cache_total", { result: "hit" });
        return entry;
      }
      if (entry !== undefined) remove(sessionId);
      metrics.count("session_cache_total", { result: "miss" });
      return undefined;
    },
    peek(sessionId) {
      if (!enabled || !listening) return undefined;
      const entry = entries.get(sessionId);
      return entry !== undefined && Date.now() - entry.storedAt < SESSION_CACHE_TTL_MS ? entry : undefined;
    },
    countHit: () => metrics.count("session_cache_total", { result: "hit" }),
    epoch: () => evictions,
    store(entry, epoch) {
      if (!enabled || !listening || epoch !== evictions) return;
      const { id, userId } = entry.session;
      remove(id);
      if (entries.size >= maxEntries) remove(entries.keys().next().value!);
      entries.set(id, { ...entry, storedAt: Date.now() });
      const ids = byUser.get(userId) ?? new Set<string>();
      byUser.set(userId, ids.add(id));
    },
    async changed(tx, change) {
      evict(change);
      const payload = change === "*" ? "*" : "sessionId" in change ? `s:${change.sessionId}` : `u:${change.userId}`;
      await notify(tx, SESSIONS_CHANNEL, payload);
    },
    listener: {
      channel: SESSIONS_CHANNEL,
      onNotify(payload) {
        const change = parse(payload);
        if (change !== undefined) evict(change);
      },
      onConnectionChange(connected) {
        // Either way what is held cannot be vouched for: deaf now, or deaf until a moment ago.
        clear();
        listening = connected;
      },
    },
  };
}
