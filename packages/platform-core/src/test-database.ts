import { sql } from "drizzle-orm";
import postgres from "postgres";
import { createDatabase, queryRows, type Database, type DatabaseHandle } from "./database/index.ts";

// Creating and migrating a PGlite cluster costs seconds; copying a migrated snapshot costs a
// fraction of that, so each test process migrates once and every test file starts from the copy.
let migratedSnapshot: Promise<Blob> | undefined;

function takeMigratedSnapshot(): Promise<Blob> {
  migratedSnapshot ??= (async () => {
    const template = await createDatabase();
    try {
      await template.migrate();
      return await template.snapshot();
    } finally {
      await template.close();
    }
  })();
  return migratedSnapshot;
}

/** A test database; `url` is set on PostgreSQL, for tests that open a second pool (a second "node"). */
export type TestDatabase = DatabaseHandle & { url?: string };

export interface TestDatabaseOptions {
  /** Leave it unmigrated: no tables, no bookkeeping (the rollback tests start from nothing). */
  empty?: boolean;
  /** Another migration set than the committed one; the database is then migrated afresh, not copied. */
  migrationsFolder?: string;
}

/**
 * A fresh, migrated database for one test file: in-memory PGlite by default, or a newly created
 * PostgreSQL database next to the one `DATABASE_URL` names, dropped again by `close()`.
 * @example const handle = await createTestDatabase(); afterAll(() => handle.close());
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const { empty = false, migrationsFolder } = options;
  const baseUrl = process.env.DATABASE_URL;
  if (baseUrl === undefined || baseUrl === "") {
    if (!empty && migrationsFolder === undefined) return createDatabase({ fromSnapshot: await takeMigratedSnapshot() });
    const handle = await createDatabase({ migrationsFolder });
    if (!empty) await handle.migrate();
    return handle;
  }

  const url = new URL(baseUrl);
  const baseName = url.pathname.replace(/^\//, "") || "postgres";
  const name = `${baseName}_t_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`.toLowerCase();
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  const handle = await createDatabase({ databaseUrl: url.toString(), maxConnections: 5, migrationsFolder });
  if (!empty) await handle.migrate();
  return {
    ...handle,
    url: url.toString(),
    async close() {
      await handle.close();
      const dropper = postgres(baseUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/** A transaction kept open by `heldOpen`. */
export interface Held {
  /** Lets the transaction go on (`then`, then its commit). */
  release(): void;
  /** The transaction. */
  done: Promise<void>;
  /** Releases it, waits for its commit, then for the requests sent into it: their answers, in order. */
  settle<T extends readonly unknown[] | []>(requests: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }>;
}

/**
 * `hold` in a transaction kept open until `release()`: resolves once `hold` has run (its locks
 * taken); `then` runs after the release, before the commit. For tests that send a request into a
 * lock another change holds: `untilWaiting`, then `settle`.
 */
export async function heldOpen(
  db: Database,
  hold: (tx: Database) => Promise<void>,
  then?: (tx: Database) => Promise<void>,
): Promise<Held> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  const done = db.transaction(async (tx) => {
    await hold(tx);
    holding();
    await released;
    await then?.(tx);
  });
  // A hold that throws rejects `done` before it is held.
  await Promise.race([held, done]);
  return {
    release,
    done,
    async settle(requests) {
      release();
      await done;
      return Promise.all(requests);
    },
  };
}

/**
 * Until each request has answered or waits on a lock in this database (PostgreSQL only): what it
 * took before it waits, it holds, and what it does before it waits is done. How many have not
 * answered (are waiting). For tests that hold a lock open and send a request into it.
 */
export async function untilWaiting(db: Database, requests: readonly Promise<unknown>[]): Promise<number> {
  let answered = 0;
  for (const request of requests)
    void request.then(
      () => answered++,
      () => answered++,
    );
  for (;;) {
    const [row] = await queryRows<{ waiting: number }>(
      db,
      sql`select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
    );
    if (row!.waiting + answered >= requests.length) return requests.length - answered;
  }
}

export { createTestClock, type TestClock } from "./clock.ts";
