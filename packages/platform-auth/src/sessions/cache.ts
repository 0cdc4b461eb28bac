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
 * GET /v1/auth/session's answer, as JSON: the user's public view and the session's. One shape for
 * the route, the fast lane and the cache, which keeps it rendered.
 */
export function sessionAnswerJson(userJson: string, sessionJson: string): string {
  return `${USER_JSON_AT}${userJson},"session":${sessionJson}}`;
}
const USER_JSON_AT = '{"user":';

/**
 * What changed: one session, everything of one user (their sessions, or the user the sessions
 * carry), or every session (`*`: an operator ended them all).
 */
export type SessionChange = { sessionId: string } | { userId: string } | "*";

export interface SessionCache {
  /** Whether entries may be served now: the cache is on and this node hears every eviction. */
  readonly trusted: boolean;
  readonly size: number;
  /**
   * A live entry, or undefined (never one while untrusted). Counted as a hit or a miss. Each call
   * makes its own objects: nothing a caller changes reaches the cache (see `noteActivity`).
   */
  get(sessionId: string): CachedSession | undefined;
  /**
   * The held entry itself, read-only, without objects made (the session check's fast lane):
   * uncounted, leaving a stale entry in place (a look `get` may follow).
   */
  peek(sessionId: string): HeldSession | undefined;
  /** The session answer of a peeked entry, rendered again only when its last activity has moved. */
  answerOf(held: HeldSession): string;
  /** Counts a hit (a `peek` that answered). */
  countHit(): void;
  /** The session's last activity, written to the database just now: the held entry moves with it. */
  noteActivity(sessionId: string, at: Date): void;
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
  /**
   * Drops the entries older than `SESSION_CACHE_TTL_MS` at `now`, which could never be served again;
   * returns how many went. A timer of the cache's own does this a part of the cache a second, so a
   * node whose checks have stopped gives the memory back within about two minutes.
   */
  dropExpired(now?: number): number;
}

/**
 * A safety net only (notifications are what keep entries fresh): it bounds the damage of an
 * eviction lost in a way the listening connection could not notice.
 */
export const SESSION_CACHE_TTL_MS = 60_000;

/**
 * How an entry is held: the row's fields with its dates as epoch milliseconds, and the session
 * answer as JSON (the user's public view within it). One object and a few strings, where the rows
 * it was made from were a dozen objects, dates and strings: half the memory, and far fewer cells for
 * the collector to trace with 100,000 sessions cached. The answer is what a cached session check
 * sends: rendering it on every check (five dates as text, two objects as JSON) was a fifth of the
 * check's time; held, it costs the session's part of it, a third of a kilobyte.
 */
export type HeldSession = Readonly<Held>;
interface Held {
  id: string;
  secretHash: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
  lastActiveAt: number;
  ip: string | null;
  userAgent: string | null;
  authMethods: string[];
  authenticatedAt: number;
  revokedAt: number | null;
  revokedReason: string | null;
  restriction: SessionRow["restriction"];
  audience: SessionRow["audience"];
  impersonatorId: string | null;
  userStatus: PublicUser["status"];
  /** `sessionAnswerJson`, the user's JSON ending at `userEnd`; rendered for `answerAt`'s last activity. */
  answer: string;
  userEnd: number;
  answerAt: number;
  storedAt: number;
}

/**
 * A map of many entries kept as 64 small maps, chosen by the key's last characters. The collector
 * visits a map's table in one piece, and with 100,000 sessions in one table its pauses grew to
 * 17–28 ms; in tables of about 1,600 they stayed under 8 ms (docs/benchmarks.md).
 */
class ShardedMap<Value> {
  private readonly shards = Array.from({ length: 64 }, () => new Map<string, Value>());
  size = 0;
  private shardOf(key: string): Map<string, Value> {
    // The last three characters of an id are random; the last alone takes only 23 values.
    const n = key.length;
    return this.shards[(key.charCodeAt(n - 1) + 31 * key.charCodeAt(n - 2) + 961 * key.charCodeAt(n - 3)) & 63]!;
  }
  get(key: string): Value | undefined {
    return this.shardOf(key).get(key);
  }
  set(key: string, value: Value): void {
    const shard = this.shardOf(key);
    const before = shard.size;
    shard.set(key, value);
    this.size += shard.size - before;
  }
  delete(key: string): void {
    const shard = this.shardOf(key);
    if (shard.delete(key)) this.size -= 1;
  }
  clear(): void {
    for (const shard of this.shards) shard.clear();
    this.size = 0;
  }
  /** Keys from the longest-held of shard `index` (of 64), while `old` holds for their values. */
  oldestOf(index: number, old: (value: Value) => boolean): string[] {
    const keys: string[] = [];
    for (const [key, value] of this.shards[index & 63]!) {
      if (!old(value)) break;
      keys.push(key);
    }
    return keys;
  }
  /** The longest-held key of the shard `key` would go to (or of any shard, when that one is empty). */
  oldestKey(key: string): string | undefined {
    const own = this.shardOf(key).keys().next().value;
    if (own !== undefined) return own;
    for (const shard of this.shards) for (const held of shard.keys()) return held;
    return undefined;
  }
}

/** One copy of each short value (audiences, statuses, method lists): every row read brings its own. */
const interned = new Map<string, string>();
function intern<T extends string>(value: T): T {
  const held = interned.get(value);
  if (held !== undefined) return held as T;
  if (interned.size < 256) interned.set(value, value);
  return value;
}
const internedMethods = new Map<string, readonly string[]>();
function internMethods(methods: string[]): readonly string[] {
  const key = methods.join(",");
  const held = internedMethods.get(key);
  if (held !== undefined) return held;
  const copy = Object.freeze(methods.map((method) => intern(method)));
  if (internedMethods.size < 256) internedMethods.set(key, copy);
  return copy;
}

function hold({ session, user }: CachedSession, storedAt: number, sessionJson: SessionJson): Held {
  const userJson = JSON.stringify(user);
  return {
    id: session.id,
    secretHash: session.secretHash,
    // The string the per-user index is keyed by: one copy.
    userId: session.userId,
    createdAt: session.createdAt.getTime(),
    expiresAt: session.expiresAt.getTime(),
    lastActiveAt: session.lastActiveAt.getTime(),
    ip: session.ip,
    userAgent: session.userAgent,
    authMethods: internMethods(session.authMethods) as string[],
    authenticatedAt: session.authenticatedAt.getTime(),
    revokedAt: session.revokedAt?.getTime() ?? null,
    revokedReason: session.revokedReason,
    restriction: session.restriction,
    audience: intern(session.audience),
    impersonatorId: session.impersonatorId,
    userStatus: intern(user.status),
    answer: sessionAnswerJson(userJson, sessionJson(session)),
    userEnd: USER_JSON_AT.length + userJson.length,
    answerAt: session.lastActiveAt.getTime(),
    storedAt,
  };
}

const userJsonOf = (held: Held) => held.answer.slice(USER_JSON_AT.length, held.userEnd);

/** A row of its own, as the database would have returned it. */
function row(held: Held): SessionRow {
  return {
    id: held.id,
    secretHash: held.secretHash,
    userId: held.userId,
    createdAt: new Date(held.createdAt),
    expiresAt: new Date(held.expiresAt),
    lastActiveAt: new Date(held.lastActiveAt),
    ip: held.ip,
    userAgent: held.userAgent,
    // Its own copy too: a caller may change what it is handed.
    authMethods: [...held.authMethods],
    authenticatedAt: new Date(held.authenticatedAt),
    revokedAt: held.revokedAt === null ? null : new Date(held.revokedAt),
    revokedReason: held.revokedReason,
    restriction: held.restriction,
    audience: held.audience,
    impersonatorId: held.impersonatorId,
  };
}

/**
 * Calls `dropExpired` on one shard every `ms` for as long as something else holds the cache: the timer holds it
 * weakly (and is made here, away from the cache's own variables, which a closure beside them would
 * hold), so a cache nobody holds any more, such as a test's, stops its timer. It keeps no process up.
 */
function dropExpiredEvery(ms: number, cache: WeakRef<{ dropExpired(now: number, shards: number): number }>): void {
  const timer = setInterval(() => {
    const held = cache.deref();
    if (held === undefined) clearInterval(timer);
    else held.dropExpired(Date.now(), 1);
  }, ms);
  timer.unref();
}

/**
 * The in-process cache of validated sessions, keyed by session id, bounded in size (when full, the
 * oldest stored of the part a new entry goes to makes room: `ShardedMap`) and time. Trusted only while its node is listening on `SESSIONS_CHANNEL`: before the
 * first LISTEN holds, and from the moment the connection drops until it is back, every validation
 * reads the database; on reconnection everything is dropped, since notifications were missed.
 * `maxEntries: undefined` (BURROW_SESSION_CACHE=off) is a cache that never holds anything.
 */
/** The session's part of the answer, as JSON (`Sessions.toPublic` of it, as the current one). */
export type SessionJson = (session: SessionRow) => string;

export function createSessionCache(options: {
  maxEntries: number | undefined;
  sessionJson: SessionJson;
  metrics?: Metrics;
}): SessionCache {
  const { sessionJson } = options;
  const metrics = options.metrics ?? NO_METRICS;
  const enabled = options.maxEntries !== undefined;
  const maxEntries = options.maxEntries ?? 0;
  const entries = new ShardedMap<Held>();
  /**
   * Session ids cached per user, so a user's change finds their sessions without a scan: the id
   * itself for a user with one (most), a set from the second on (a set per entry was a tenth of
   * the cache's memory).
   */
  const byUser = new ShardedMap<string | Set<string>>();
  let listening = false;
  let evictions = 0;

  function remove(sessionId: string): void {
    const entry = entries.get(sessionId);
    if (entry === undefined) return;
    entries.delete(sessionId);
    const userId = entry.userId;
    const ids = byUser.get(userId);
    if (ids === sessionId) byUser.delete(userId);
    else if (typeof ids === "object") {
      ids.delete(sessionId);
      if (ids.size === 0) byUser.delete(userId);
    }
  }

  function sessionsOf(userId: string): string[] {
    const ids = byUser.get(userId);
    return ids === undefined ? [] : typeof ids === "string" ? [ids] : [...ids];
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
    for (const sessionId of sessionsOf(change.userId)) remove(sessionId);
  }

  function parse(payload: string): SessionChange | undefined {
    if (payload === "*") return "*";
    if (payload.startsWith("s:")) return { sessionId: payload.slice(2) };
    if (payload.startsWith("u:")) return { userId: payload.slice(2) };
    return undefined;
  }

  // Each shard holds its entries in the order they were stored (`store` removes before it sets), so
  // the expired ones are at the front of each. The timer visits one shard a tick, a few milliseconds
  // at most; once the cache has shrunk to half what it held at the last collection it asks for one,
  // so the memory goes back to the system (the collector would otherwise wait for the heap to grow
  // by half of what it last found live, the sessions included).
  let nextShard = 0;
  let sizeAtCollection = 0;
  const upkeep = {
    dropExpired(now: number, shards = 64): number {
      let dropped = 0;
      for (let visited = 0; visited < shards; visited++) {
        const expired = entries.oldestOf(nextShard++, (entry) => now - entry.storedAt >= SESSION_CACHE_TTL_MS);
        for (const sessionId of expired) remove(sessionId);
        dropped += expired.length;
      }
      sizeAtCollection = Math.max(sizeAtCollection, entries.size + dropped);
      if (sizeAtCollection >= 10_000 && entries.size <= sizeAtCollection / 2) {
        sizeAtCollection = entries.size;
        Bun.gc(true);
      }
      return dropped;
    },
  };
  if (enabled) dropExpiredEvery(1_000, new WeakRef(upkeep));

  return {
    dropExpired: (now = Date.now()) => upkeep.dropExpired(now),
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
        return { session: row(entry), user: JSON.parse(userJsonOf(entry)) as PublicUser };
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
    answerOf(held) {
      const entry = held as Held;
      if (entry.answerAt !== entry.lastActiveAt) {
        entry.answer = sessionAnswerJson(userJsonOf(entry), sessionJson(row(entry)));
        entry.answerAt = entry.lastActiveAt;
      }
      return entry.answer;
    },
    countHit: () => metrics.count("session_cache_total", { result: "hit" }),
    noteActivity(sessionId, at) {
      const entry = entries.get(sessionId);
      if (entry !== undefined && entry.lastActiveAt < at.getTime()) entry.lastActiveAt = at.getTime();
    },
    epoch: () => evictions,
    store(entry, epoch) {
      if (!enabled || !listening || epoch !== evictions) return;
      const { id, userId } = entry.session;
      remove(id);
      if (entries.size >= maxEntries) remove(entries.oldestKey(id)!);
      entries.set(id, hold(entry, Date.now(), sessionJson));
      const ids = byUser.get(userId);
      if (ids === undefined) byUser.set(userId, id);
      else if (typeof ids === "string") byUser.set(userId, new Set([ids, id]));
      else ids.add(id);
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
