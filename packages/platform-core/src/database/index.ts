import { Column, getTableColumns, getTableName, is, SQL, sql, type SQLWrapper } from "drizzle-orm";
import { PgDialect, type PgDatabase, type PgQueryResultHKT, type PgTable } from "drizzle-orm/pg-core";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { defaultPoolSize } from "../config.ts";
import { PlatformError } from "../errors.ts";
import { pgliteOptions } from "./pglite-options.ts";

export { PGLITE_SETTINGS, pgliteOptions } from "./pglite-options.ts";

/** A drizzle database or an open transaction on it: every service takes one of these. */
export type Database = PgDatabase<PgQueryResultHKT>;

export interface DatabaseOptions {
  /** postgres:// URL; when absent, embedded PGlite is used. */
  databaseUrl?: string | undefined;
  /** Where PGlite keeps its files; when absent (and no URL), PGlite runs in memory. */
  dataDir?: string | undefined;
  /** Folder of the committed migration set. */
  migrationsFolder?: string;
  /** Connection pool size for PostgreSQL; `defaultPoolSize()` when absent. */
  maxConnections?: number | undefined;
  /** PGlite only: start from a snapshot taken by `snapshot()` instead of an empty cluster. */
  fromSnapshot?: Blob;
}

export interface MigrationStatus {
  applied: number;
  expected: number;
  current: boolean;
  /** Every migration of the set, oldest first, and whether this database has it. */
  migrations: { tag: string; applied: boolean }[];
}

export interface RollbackOptions {
  /** Roll back until this migration is the newest applied one (it stays applied). */
  to?: string;
  /** How many of the newest applied migrations to roll back, when `to` is absent: 1 by default. */
  steps?: number;
}

export interface DatabaseHandle {
  db: Database;
  driver: "pglite" | "postgres";
  /** Applies pending migrations; safe to call from several nodes at once. */
  migrate(): Promise<void>;
  migrationStatus(): Promise<MigrationStatus>;
  /**
   * Runs the down files (`migrations/down/<tag>.sql`) of the newest applied migrations, newest first,
   * each in one transaction with forgetting that it was applied; returns the tags rolled back.
   * @example await handle.rollback({ to: "0019_recurring_job_keys" });
   */
  rollback(options?: RollbackOptions): Promise<string[]>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  /**
   * Subscribes to a Postgres NOTIFY channel; returns the function that unsubscribes. `onConnectionChange`
   * hears `true` once the subscription is in place and again after every reconnection, and `false` as
   * soon as the listening connection is lost: notifications sent meanwhile are missed, not queued.
   */
  listen(
    channel: string,
    handler: (payload: string) => void,
    options?: { onConnectionChange?: (connected: boolean) => void },
  ): Promise<() => Promise<void>>;
  /** PGlite only: the whole cluster as a blob, to start copies from (tests use it to skip re-migrating). */
  snapshot(): Promise<Blob>;
  close(): Promise<void>;
}

// Installed from its tarball, the package carries the migration set beside dist/ (the pack script copies
// it there); in this repository it is the one set at the root, which drizzle-kit writes.
const PACKED_MIGRATIONS_FOLDER = resolve(import.meta.dir, "../../migrations");
export const DEFAULT_MIGRATIONS_FOLDER = existsSync(PACKED_MIGRATIONS_FOLDER)
  ? PACKED_MIGRATIONS_FOLDER
  : resolve(import.meta.dir, "../../../../migrations");

/** Rows of a raw query, whichever driver ran it (postgres.js returns an array, PGlite `{ rows }`). */
export async function queryRows<Row>(db: Database, query: SQL): Promise<Row[]> {
  const result: unknown = await db.execute(query);
  if (Array.isArray(result)) return result as Row[];
  return (result as { rows: Row[] }).rows;
}

/** A statement made by `compiled`: runs on the database or transaction given, with its placeholders' values. */
export type Compiled<Result> = (db: Database, values: Record<string, unknown>) => Promise<Result>;

/** What drizzle's query builders have in common: `prepare` makes the statement, `execute` runs it. */
interface Preparable<Result> {
  prepare(name: string): { execute(values?: Record<string, unknown>): Promise<Result> };
}

/**
 * What a driver's prepared query holds once built (both drivers name these fields alike): the text
 * with its parameters, some of them placeholders, and how its rows are mapped to drizzle's shape.
 */
interface BuiltQuery {
  queryString: string;
  params: unknown[];
  fields?: unknown;
  _isResponseInArrayMode?: boolean;
  customResultMapper?: unknown;
  joinsNotNullableMap?: unknown;
}

/**
 * A statement built once and then only run. drizzle turns a query into text on every execute, which
 * for a statement of several parts costs more than running it. `build` makes it with placeholders
 * (`sql.placeholder(name)`) the first time it runs, and each run fills them in, on whichever
 * database or transaction it is given.
 *
 * `build` returns an `sql` template (rows come back as the driver gives them: columns by their
 * database names) or a query builder made on the `db` it is passed (rows come back typed, as the
 * builder's own execute would give them).
 * @example const byEmail = compiled((db) => db.select().from(users).where(eq(users.email, sql.placeholder("email"))));
 *          const [user] = await byEmail(tx, { email });
 */
export function compiled<Result>(build: (db: Database) => Preparable<Result>): Compiled<Result>;
export function compiled<Row>(build: () => SQL): Compiled<Row[]>;
export function compiled(build: (db: Database) => SQL | Preparable<unknown>): Compiled<unknown> {
  let built: BuiltQuery | undefined;
  const template = (db: Database): BuiltQuery => {
    const made = build(db);
    if (is(made, SQL)) {
      const query = new PgDialect().sqlToQuery(made);
      return { queryString: query.sql, params: query.params };
    }
    // Prepared only to read what it was built into; each run below makes its own on its database.
    return made.prepare("burrow_compiled") as unknown as BuiltQuery;
  };
  return async (db, values) => {
    built ??= template(db);
    const query = db._.session.prepareQuery(
      { sql: built.queryString, params: built.params },
      built.fields as never,
      undefined,
      built._isResponseInArrayMode ?? false,
      built.customResultMapper as never,
    ) as unknown as BuiltQuery & { execute(values: Record<string, unknown>): Promise<unknown> };
    if (built.joinsNotNullableMap !== undefined) query.joinsNotNullableMap = built.joinsNotNullableMap;
    const result = await query.execute(values);
    if (built.fields !== undefined || built.customResultMapper !== undefined) return result;
    return Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
  };
}

/**
 * Values for a `compiled` insert or update: each key a placeholder of its own name, filled with the
 * column's value (a Date for a timestamp, an object for JSON) when the statement runs.
 * @example compiled((db) => db.insert(users).values(placeholders(["id", "email"])))
 */
export function placeholders<const Key extends string>(keys: readonly Key[]): Record<Key, never> {
  const out = {} as Record<Key, never>;
  for (const key of keys) out[key] = sql.placeholder(key) as never;
  return out;
}

/**
 * `insert into table (…) select …`: one row for each row `source` yields (the name of a CTE), so a
 * write in a larger statement happens only when an earlier part of it did. The values are
 * placeholders named `${prefix}${key}` (fill them with `named(prefix, values)`), each cast to its
 * column's type: a parameter in a select list has no type of its own.
 */
export function insertFor<Table extends PgTable>(
  table: Table,
  keys: readonly (keyof Table["_"]["columns"] & string)[],
  prefix: string,
  source: SQL,
): SQL {
  const columns = getTableColumns(table);
  const names = keys.map((key) => sql.identifier(columns[key]!.name));
  const values = keys.map((key) => {
    const column = columns[key]!;
    return sql`${sql.param(sql.placeholder(prefix + key), column)}::${sql.raw(column.getSQLType())}`;
  });
  return sql`insert into ${table} (${sql.join(names, sql`, `)}) select ${sql.join(values, sql`, `)} from ${source}`;
}

/** The values of placeholders named `${prefix}${key}`. */
export function named(prefix: string, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in values) out[prefix + key] = values[key];
  return out;
}

/**
 * An expression to use inside a subquery: a column written as `"table"."column"`, anything else as
 * it is. drizzle writes a column bare in the select list of a one-table query, and inside a
 * subquery a bare name means the subquery's own column of that name when it has one (`"id"` in
 * `(select … from mfa_factors where user_id = "id")` is the factor's id, not the user's).
 */
export function qualified(expression: SQLWrapper): SQLWrapper {
  if (!is(expression, Column)) return expression;
  return sql`${sql.identifier(getTableName(expression.table))}.${sql.identifier(expression.name)}`;
}

/**
 * Statements that do not wait for each other's answers, sent together: on one connection (a
 * transaction) the driver writes them in one go and reads their answers in one go, one round trip
 * where awaiting each would take one apiece. Settles as the same work awaited in list order would:
 * the first failure in the list is thrown, whichever failed first in time, and inside a transaction
 * a failure aborts the rest as it would have. Each entry starts when it is listed (a query builder
 * when `together` reaches it), so list a statement only once what it needs is known.
 */
export async function together<const T extends readonly unknown[]>(
  work: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(work);
  for (const outcome of settled) if (outcome.status === "rejected") throw outcome.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}

const notifying = compiled(() => sql`select pg_notify(${sql.placeholder("channel")}, ${sql.placeholder("payload")})`);

/** Sends a NOTIFY on `channel`; inside a transaction it is delivered on commit only. */
export async function notify(db: Database, channel: string, payload: string): Promise<void> {
  await notifying(db, { channel, payload });
}

interface JournalEntry {
  tag: string;
  when: number;
}

function readJournal(folder: string): JournalEntry[] {
  const journal = JSON.parse(readFileSync(join(folder, "meta", "_journal.json"), "utf8")) as {
    entries: JournalEntry[];
  };
  return journal.entries;
}

/**
 * The `created_at` of every migration drizzle recorded as applied, newest first. Drizzle stores the
 * journal entry's `when` there (not the time it ran), which is how a row is matched to its tag.
 */
async function readAppliedWhens(db: Database): Promise<number[]> {
  const [exists] = await queryRows<{ present: boolean }>(
    db,
    sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`,
  );
  if (exists?.present !== true) return [];
  const rows = await queryRows<{ created_at: number | string }>(
    db,
    sql`select created_at from drizzle.__drizzle_migrations order by created_at desc`,
  );
  return rows.map((row) => Number(row.created_at));
}

async function readMigrationStatus(db: Database, folder: string): Promise<MigrationStatus> {
  const entries = readJournal(folder);
  const applied = await readAppliedWhens(db);
  const newest = entries.at(-1)?.when ?? 0;
  return {
    applied: applied.length,
    expected: entries.length,
    current: (applied[0] ?? 0) >= newest,
    migrations: entries.map((entry) => ({ tag: entry.tag, applied: applied.includes(entry.when) })),
  };
}

/** The statements of a migration's down file, split where the up files split. */
function readDownStatements(folder: string, tag: string): string[] {
  const path = join(folder, "down", `${tag}.sql`);
  if (!existsSync(path)) throw new Error(`Migration ${tag} has no down file: ${path} is missing.`);
  return readFileSync(path, "utf8")
    .split("--> statement-breakpoint")
    .map((statement) => statement.trim())
    .filter((statement) => statement !== "");
}

async function rollbackMigrations(db: Database, folder: string, options: RollbackOptions): Promise<string[]> {
  if (options.to !== undefined && options.steps !== undefined)
    throw new PlatformError("validation_failed", { detail: "Roll back either to a migration or by steps, not both." });
  const steps = options.steps ?? 1;
  if (!Number.isInteger(steps) || steps < 0)
    throw new PlatformError("validation_failed", {
      detail: `Steps must be a whole number of 0 or more, not ${steps}.`,
    });
  const entries = readJournal(folder);
  const appliedWhens = await readAppliedWhens(db);
  const newestApplied = appliedWhens[0];
  // A newer release's migration is rolled back with that release: only it has the down file.
  if (newestApplied !== undefined && !entries.some((entry) => entry.when === newestApplied))
    throw new Error(
      `The newest applied migration (recorded as ${newestApplied}) is not in ${folder}: roll it back with the release that brought it.`,
    );
  const applied = entries.filter((entry) => appliedWhens.includes(entry.when)).reverse();

  let count = steps;
  if (options.to !== undefined) {
    const target = options.to;
    count = applied.findIndex((entry) => entry.tag === target);
    if (count === -1) {
      const known = entries.some((entry) => entry.tag === target);
      throw new PlatformError("validation_failed", {
        detail: known
          ? `Migration ${target} is not applied, so there is nothing to roll back to.`
          : `There is no migration ${target} in the set.`,
      });
    }
  }
  // Every down file is read before the first runs, so a missing one stops the rollback before it starts.
  const downs = applied.slice(0, count).map((entry) => ({ entry, statements: readDownStatements(folder, entry.tag) }));
  for (const { entry, statements } of downs) {
    await db.transaction(async (tx) => {
      for (const statement of statements) await tx.execute(sql.raw(statement));
      await tx.execute(sql`delete from drizzle.__drizzle_migrations where created_at = ${entry.when}`);
    });
  }
  return downs.map(({ entry }) => entry.tag);
}

/** How long opening a PostgreSQL connection may take before the query waiting on it fails. */
export const CONNECT_TIMEOUT_SECONDS = 5;

/** Key of the advisory lock nodes take while migrating, so two nodes never migrate at once. */
const MIGRATION_LOCK = 0x6275_7272; // "burr"

/**
 * A new embedded cluster is made (initdb) and migrated by a short-lived process of its own: that
 * one-time work peaks near 1 GB and leaves tens of MB of WebAssembly memory behind, which would
 * otherwise stay resident in the server for its whole life.
 */
async function setUpClusterInChildProcess(pgliteDir: string, migrationsFolder: string): Promise<void> {
  // pglite-setup.ts here, pglite-setup.js when run from the built package: the same extension as this file.
  const script = join(import.meta.dir, `pglite-setup${extname(import.meta.path)}`);
  const child = Bun.spawn([process.execPath, script, pgliteDir, migrationsFolder], {
    stdout: "inherit",
    stderr: "pipe",
  });
  const [code, errors] = await Promise.all([child.exited, new Response(child.stderr).text()]);
  if (code !== 0) throw new Error(`Setting up the embedded database in ${pgliteDir} failed: ${errors.trim()}`);
}

/**
 * Embedded PGlite is one process's database: a second process opening the same directory (the
 * `burrow` command line while `bun start` runs) would write over the first one's pages. So the
 * directory holds a lock file with the owner's process id; a lock whose process is gone is stale.
 */
function lockDataDirectory(pgliteDir: string): () => void {
  const path = join(pgliteDir, "burrow.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: "wx" });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(owner) && owner > 0 && processAlive(owner))
        throw new Error(
          `The embedded database in ${pgliteDir} is open in another process (pid ${owner}), such as a running \`bun start\`. ` +
            `Stop that process first, or run on PostgreSQL (DATABASE_URL) to use several processes at once. ` +
            `If no Burrow process runs, delete ${path}.`,
        );
      rmSync(path, { force: true });
    }
  }
  throw new Error(`Could not lock the embedded database in ${pgliteDir}`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** What drizzle calls on a postgres.js client: queries, transactions and savepoints. */
interface PostgresClient {
  unsafe(query: string, args?: unknown[], options?: { prepare?: boolean }): unknown;
  begin(...args: unknown[]): unknown;
  savepoint?(...args: unknown[]): unknown;
}

/**
 * Every query drizzle sends through `client` as a named prepared statement. drizzle asks postgres.js
 * for an unnamed one unless a query is given a name, and postgres.js then describes each query with
 * parameters in a round trip of its own before it runs it, while PostgreSQL parses and plans it each
 * time. Prepared, a statement is described and planned once per connection and then costs one round
 * trip. A URL with `?prepare=false` (a pooler in transaction mode) still turns them off: postgres.js
 * lets its own option win.
 */
function preparedStatements<Client extends object>(client: Client): Client {
  const inTransaction = (args: unknown[]) =>
    args.map((arg) =>
      typeof arg === "function" ? (tx: object) => (arg as (tx: object) => unknown)(preparedStatements(tx)) : arg,
    );
  return new Proxy(client, {
    get(target, key) {
      const value = Reflect.get(target, key, target) as unknown;
      const own = target as unknown as PostgresClient;
      if (key === "unsafe")
        return (query: string, args: unknown[] = [], queryOptions: { prepare?: boolean } = {}) =>
          own.unsafe(query, args, { ...queryOptions, prepare: true });
      if (key === "begin") return (...args: unknown[]) => own.begin(...inTransaction(args));
      if (key === "savepoint") return (...args: unknown[]) => own.savepoint!(...inTransaction(args));
      return value;
    },
  });
}

/**
 * Opens the database: PostgreSQL through postgres.js when `databaseUrl` is set, else PGlite
 * (persisted in `dataDir`, or in memory for tests). Same schema, same migrations.
 * @example const handle = await createDatabase({ dataDir: "./.burrow" }); await handle.migrate();
 */
export async function createDatabase(options: DatabaseOptions = {}): Promise<DatabaseHandle> {
  const migrationsFolder = options.migrationsFolder ?? DEFAULT_MIGRATIONS_FOLDER;

  // Each driver is loaded only when it is the one in use: a process needs PGlite or postgres.js, not both.
  if (options.databaseUrl !== undefined) {
    const [{ default: postgres }, { drizzle: drizzlePostgres }, { migrate: migratePostgres }] = await Promise.all([
      import("postgres"),
      import("drizzle-orm/postgres-js"),
      import("drizzle-orm/postgres-js/migrator"),
    ]);
    const url = options.databaseUrl;
    // A database that cannot be reached fails a request fast (a 503) rather than holding it: opening a
    // connection may take CONNECT_TIMEOUT_SECONDS (postgres.js waits 30 s), and after failed attempts a
    // connection waits RECONNECT_BACKOFF.
    const client = postgres(url, {
      max: options.maxConnections ?? defaultPoolSize(),
      connect_timeout: CONNECT_TIMEOUT_SECONDS,
      backoff: RECONNECT_BACKOFF,
      onnotice: () => {},
    });
    const listening = createListeningConnection(postgres, url);
    const db = drizzlePostgres(preparedStatements(client)) as unknown as Database;
    // One dedicated connection holds the advisory lock for the whole migration or rollback.
    const withMigrationLock = async <Result>(
      work: (lockDb: ReturnType<typeof drizzlePostgres>) => Promise<Result>,
    ): Promise<Result> => {
      const lockClient = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await lockClient`select pg_advisory_lock(${MIGRATION_LOCK})`;
        const result = await work(drizzlePostgres(lockClient));
        await lockClient`select pg_advisory_unlock(${MIGRATION_LOCK})`;
        return result;
      } finally {
        await lockClient.end();
      }
    };
    return {
      db,
      driver: "postgres",
      migrate: () => withMigrationLock((lockDb) => migratePostgres(lockDb, { migrationsFolder })),
      migrationStatus: () => readMigrationStatus(db, migrationsFolder),
      rollback: (rollbackOptions = {}) =>
        withMigrationLock((lockDb) =>
          rollbackMigrations(lockDb as unknown as Database, migrationsFolder, rollbackOptions),
        ),
      ping: async () => {
        try {
          await client`select 1`;
          return true;
        } catch {
          return false;
        }
      },
      listen: (channel, handler, listenOptions) => listening.subscribe(channel, handler, listenOptions),
      snapshot: () => Promise.reject(new Error("snapshot() is available on PGlite only")),
      close: async () => {
        await listening.close();
        await client.end({ timeout: 5 });
      },
    };
  }

  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("drizzle-orm/pglite"),
    import("drizzle-orm/pglite/migrator"),
  ]);
  let pgliteDir: string | undefined;
  let unlock = () => {};
  if (options.dataDir !== undefined) {
    pgliteDir = join(options.dataDir, "pgdata");
    mkdirSync(pgliteDir, { recursive: true });
    unlock = lockDataDirectory(pgliteDir);
  }
  let client: InstanceType<typeof PGlite>;
  try {
    if (pgliteDir !== undefined && !existsSync(join(pgliteDir, "PG_VERSION")))
      await setUpClusterInChildProcess(pgliteDir, migrationsFolder);
    client = await PGlite.create({
      ...(await pgliteOptions()),
      ...(pgliteDir === undefined ? {} : { dataDir: pgliteDir }),
      ...(options.fromSnapshot === undefined ? {} : { loadDataDir: options.fromSnapshot }),
    });
  } catch (error) {
    unlock();
    throw error;
  }
  const pgliteDb = drizzlePglite(client);
  const db = pgliteDb as unknown as Database;
  let closed = false;
  return {
    db,
    driver: "pglite",
    migrate: () => migratePglite(pgliteDb, { migrationsFolder }),
    migrationStatus: () => readMigrationStatus(db, migrationsFolder),
    rollback: (rollbackOptions = {}) => rollbackMigrations(db, migrationsFolder, rollbackOptions),
    ping: async () => {
      if (closed) return false;
      try {
        await client.query("select 1");
        return true;
      } catch {
        return false;
      }
    },
    async listen(channel, handler, listenOptions) {
      const unsubscribe = await client.listen(channel, handler);
      // In process: the subscription cannot be cut off from the database while both live.
      listenOptions?.onConnectionChange?.(true);
      return () => unsubscribe();
    },
    snapshot: async () => (await client.dumpDataDir("none")) as Blob,
    async close() {
      if (closed) return;
      closed = true;
      await client.close();
      unlock();
    },
  };
}

type PostgresFactory = typeof import("postgres");

interface Subscriber {
  handler: (payload: string) => void;
  onConnectionChange: ((connected: boolean) => void) | undefined;
}

/** The `application_name` of each node's listening connection (PostgreSQL). */
export const LISTENING_APPLICATION_NAME = "burrow-listen";

/**
 * Seconds a connection waits after `retries` failed attempts to open: at most half a second.
 * postgres.js backs off up to 20 s, which is how long a request would wait after an outage, and how
 * long a node would stay deaf to notifications (and miss them).
 */
const RECONNECT_BACKOFF = (retries: number) => Math.min(0.1 * retries, 0.5);

/** Waits between attempts to listen again after the connection was lost, growing to the last. */
const RELISTEN_DELAYS_MS = [0, 50, 100, 250, 500, 1000, 2000];

/**
 * One connection of its own that LISTENs for every subscription of the handle. postgres.js's own
 * `listen` reconnects too, but says nothing when the connection drops; a node keeping a cache on the
 * strength of notifications must know at once that it has gone deaf. So this connection reports its
 * `onclose`, and LISTENs again (with backoff) until it hears again.
 */
function createListeningConnection(
  postgres: PostgresFactory,
  url: string,
): {
  subscribe: DatabaseHandle["listen"];
  close(): Promise<void>;
} {
  const channels = new Map<string, Set<Subscriber>>();
  let connected = false;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let sql: ReturnType<PostgresFactory> | undefined;

  const quoted = (channel: string) => `"${channel.replaceAll('"', '""')}"`;
  const tell = (subscribers: Iterable<Subscriber>, state: boolean) => {
    for (const subscriber of subscribers) subscriber.onConnectionChange?.(state);
  };

  function connection(): ReturnType<PostgresFactory> {
    sql ??= postgres(url, {
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      fetch_types: false,
      // As the pool's: an unreachable database fails the attempt fast, and it is tried again soon.
      connect_timeout: CONNECT_TIMEOUT_SECONDS,
      backoff: RECONNECT_BACKOFF,
      // Named, so an operator (or a test) finds it in pg_stat_activity.
      connection: { application_name: LISTENING_APPLICATION_NAME },
      onnotice: () => {},
      // postgres.js reads `onnotify` (its own `listen` is built on it) but its types leave it out.
      ...{
        onnotify: (channel: string, payload: string) => {
          for (const subscriber of channels.get(channel) ?? []) subscriber.handler(payload);
        },
      },
      onclose: () => {
        if (closed) return;
        const wasConnected = connected;
        connected = false;
        if (wasConnected) for (const subscribers of channels.values()) tell(subscribers, false);
        scheduleRelisten();
      },
    });
    return sql;
  }

  function scheduleRelisten(): void {
    if (closed || retry !== undefined) return;
    const delay = RELISTEN_DELAYS_MS[Math.min(attempt, RELISTEN_DELAYS_MS.length - 1)]!;
    attempt += 1;
    retry = setTimeout(() => {
      retry = undefined;
      relisten().catch(() => scheduleRelisten());
    }, delay);
  }

  /** LISTENs again on every channel on the (new) connection; subscribers hear `true` once it holds. */
  async function relisten(): Promise<void> {
    if (closed || connected) return;
    const db = connection();
    for (const channel of channels.keys()) await db.unsafe(`listen ${quoted(channel)}`);
    connected = true;
    attempt = 0;
    for (const subscribers of channels.values()) tell(subscribers, true);
  }

  return {
    async subscribe(channel, handler, listenOptions) {
      const subscriber: Subscriber = { handler, onConnectionChange: listenOptions?.onConnectionChange };
      const subscribers = channels.get(channel) ?? new Set<Subscriber>();
      const first = subscribers.size === 0;
      subscribers.add(subscriber);
      channels.set(channel, subscribers);
      if (first) await connection().unsafe(`listen ${quoted(channel)}`);
      // The first subscription opens the connection; later ones join it while it holds.
      if (!connected && retry === undefined) connected = true;
      if (connected) subscriber.onConnectionChange?.(true);
      return async () => {
        subscribers.delete(subscriber);
        if (subscribers.size > 0 || closed) return;
        channels.delete(channel);
        await connection()
          .unsafe(`unlisten ${quoted(channel)}`)
          .catch(() => {});
      };
    },
    async close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      await sql?.end({ timeout: 5 });
    },
  };
}

/**
 * The string codes along an error's `cause` chain, outermost first: drizzle wraps the driver's
 * error in a cause, postgres.js and PGlite throw it bare, sockets put theirs on the error itself.
 */
function* errorCodes(error: unknown): Generator<string> {
  for (
    let current: unknown = error;
    current !== undefined && current !== null;
    current = (current as { cause?: unknown }).cause
  ) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") yield code;
  }
}

/**
 * Whether an error is PostgreSQL's unique violation (23505), as thrown by either driver: the
 * database's own answer to a race two checks lost.
 */
export function isUniqueViolation(error: unknown): boolean {
  for (const code of errorCodes(error)) if (code === "23505") return true;
  return false;
}

/**
 * SQLSTATEs that mean a statement lost to a concurrent request: a unique or foreign-key check
 * decided by another transaction's commit, a deadlock, a serialization failure.
 */
const CONCURRENT_CHANGE_CODES = new Set(["23505", "23503", "40P01", "40001"]);

/**
 * Whether an error is a lost race with another request (either driver's, wrapped or not). A
 * service that can meet one answers its own code (`email_taken`, `slug_taken`, ...); one that
 * reaches the HTTP edge is answered 409 `conflict`, so the caller may try again, and is still
 * logged as an error: its service should have answered it.
 */
export function isConcurrentChange(error: unknown): boolean {
  for (const code of errorCodes(error)) if (CONCURRENT_CHANGE_CODES.has(code)) return true;
  return false;
}

/** Socket errors (Node's and Bun's codes) meaning the server could not be reached or went away. */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  // postgres.js's own: the connection closed under the query, or could not be opened in time.
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/**
 * Whether an error means the database is unavailable (down, restarting, unreachable, out of
 * connections) rather than that the query was wrong: the HTTP edge answers these 503
 * `service_unavailable` instead of 500. Either driver's error, wrapped or not.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const code of errorCodes(error)) {
    if (UNREACHABLE_CODES.has(code)) return true;
    // SQLSTATE class 08 (connection exception); 57P01–57P03 (shut down by an operator, crash, starting
    // up); 53300 (too many connections).
    if (/^08...$/.test(code) || /^57P0[1-3]$/.test(code) || code === "53300") return true;
  }
  return false;
}
