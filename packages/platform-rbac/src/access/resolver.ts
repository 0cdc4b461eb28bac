import { sql } from "drizzle-orm";
import { NO_METRICS, notify, compiled, type Clock, type Database, type Metrics } from "@burrow/platform-core";
import { covers } from "./permissions.ts";

/** Nodes drop cached permissions when this channel names a user (or `*`). */
export const RBAC_CHANNEL = "burrow_rbac";

export interface ResolvedPermissions {
  /** Patterns held: the organization role's, plus platform roles'. */
  patterns: ReadonlySet<string>;
  /** The caller's role key in the organization, if a member. */
  orgRole: string | null;
}

export interface PermissionResolver {
  /** `db`: the caller's open transaction, if any (a miss then reads through it). */
  resolve(userId: string, orgId?: string | null, db?: Database): Promise<ResolvedPermissions>;
  /** Is `permission` held by the user, in the organization if one is named? Cached: no query on a hit. */
  can(userId: string, permission: string, options?: { orgId?: string | null; db?: Database }): Promise<boolean>;
  /**
   * Call inside the transaction that changes someone's roles: evicts here at once, and through a
   * NOTIFY delivered on commit, on every node (including this one, after the commit).
   */
  changed(tx: Database, userId: string | "*"): Promise<void>;
  /** Applies an eviction received from the channel. */
  evict(userId: string | "*"): void;
  /**
   * The node started or stopped hearing `RBAC_CHANNEL`. While it is deaf every resolution reads the
   * database (another node's change would go unheard); either way what is held is dropped. Before
   * any listener reports, the cache is trusted: one process's own `changed()` calls evict it.
   */
  connectionChanged(connected: boolean): void;
}

/** A safety net only: eviction is what keeps entries fresh. */
const ENTRY_TTL_MS = 60_000;
const MAX_ENTRIES = 20_000;

export function createPermissionResolver(options: {
  db: Database;
  clock: Clock;
  metrics?: Metrics;
}): PermissionResolver {
  const metrics = options.metrics ?? NO_METRICS;
  /** `until`: the clock time the entry stops being true by itself (the end of an elevation in it). */
  const cache = new Map<string, { value: ResolvedPermissions; at: number; until: number }>();
  /**
   * The users each open transaction has changed. What such a transaction reads about them is not yet
   * true (it may still roll back): it reads through, past the cache, and nothing it reads is kept.
   */
  const changedIn = new WeakMap<Database, Set<string>>();
  /** Whether this node hears RBAC_CHANNEL; undefined until a listener says (see connectionChanged). */
  let hearing: boolean | undefined;
  const uncommitted = (db: Database, userId: string) => {
    const changed = changedIn.get(db);
    return changed !== undefined && (changed.has(userId) || changed.has("*"));
  };

  // What a user holds in an organization (`orgId` "" for none), on the platform, and by elevation at
  // `now`: built once.
  const [user, org, at] = [sql.placeholder("userId"), sql.placeholder("orgId"), sql.placeholder("now")];
  const grants = compiled<{ permission: string; role_key: string; source: string; ends_at: Date | string | null }>(
    () =>
      sql`select rp.permission, r.key as role_key, 'org' as source, null::timestamptz as ends_at
              from organization_memberships m
              join organizations o on o.id = m.org_id and o.deleted_at is null
              join roles r on r.id = m.role_id
              join role_permissions rp on rp.role_id = r.id
             where m.user_id = ${user} and m.org_id = ${org}
            union all
            select rp.permission, r.key as role_key, 'platform' as source, null::timestamptz as ends_at
              from principal_roles pr
              join roles r on r.id = pr.role_id and r.scope = 'platform'
              join role_permissions rp on rp.role_id = r.id
             where pr.user_id = ${user} and pr.org_id is null
            union all
            select rp.permission, r.key as role_key, 'elevation' as source, e.ends_at
              from elevations e
              join roles r on r.id = e.role_id
              join role_permissions rp on rp.role_id = r.id
             where e.user_id = ${user} and e.status = 'active' and e.ended_at is null
               and e.starts_at <= ${at}::timestamptz and e.ends_at > ${at}::timestamptz
               and (e.org_id is null or (e.org_id = ${org} and exists (
                     -- An organization's elevation counts for its members only, in a live organization.
                     select 1 from organization_memberships em
                       join organizations eo on eo.id = em.org_id and eo.deleted_at is null
                      where em.org_id = e.org_id and em.user_id = e.user_id)))`,
  );

  async function load(
    db: Database,
    userId: string,
    orgId: string | null,
  ): Promise<{ value: ResolvedPermissions; until: number }> {
    const rows = await grants(db, { userId, orgId: orgId ?? "", now: options.clock.now().toISOString() });
    const ends = rows.filter((row) => row.ends_at !== null).map((row) => new Date(row.ends_at!).getTime());
    return {
      value: {
        patterns: new Set(rows.map((row) => row.permission)),
        orgRole: rows.find((row) => row.source === "org")?.role_key ?? null,
      },
      until: ends.length === 0 ? Number.POSITIVE_INFINITY : Math.min(...ends),
    };
  }

  async function resolve(
    userId: string,
    orgId: string | null = null,
    db: Database = options.db,
  ): Promise<ResolvedPermissions> {
    if (db !== options.db && uncommitted(db, userId)) return (await load(db, userId, orgId)).value;
    const key = `${userId}|${orgId ?? ""}`;
    const hit = hearing === false ? undefined : cache.get(key);
    if (hit !== undefined && Date.now() - hit.at < ENTRY_TTL_MS && options.clock.now().getTime() < hit.until) {
      metrics.count("permission_cache_total", { result: "hit" });
      return hit.value;
    }
    metrics.count("permission_cache_total", { result: "miss" });
    const { value, until } = await load(db, userId, orgId);
    if (hearing === false) return value;
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(key, { value, at: Date.now(), until });
    return value;
  }

  function evict(userId: string | "*"): void {
    if (userId === "*") {
      cache.clear();
      return;
    }
    for (const key of cache.keys()) if (key.startsWith(`${userId}|`)) cache.delete(key);
  }

  return {
    resolve,
    async can(userId, permission, opts = {}) {
      return covers((await resolve(userId, opts.orgId ?? null, opts.db)).patterns, permission);
    },
    async changed(tx, userId) {
      evict(userId);
      if (tx !== options.db) changedIn.set(tx, (changedIn.get(tx) ?? new Set()).add(userId));
      await notify(tx, RBAC_CHANNEL, userId);
    },
    evict,
    connectionChanged(connected) {
      cache.clear();
      hearing = connected;
    },
  };
}
