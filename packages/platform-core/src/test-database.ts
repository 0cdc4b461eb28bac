import postgres from "postgres";
import { createDatabase, type DatabaseHandle } from "./database/index.ts";

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

/**
 * A fresh, migrated database for one test file: in-memory PGlite by default, or a newly created
 * PostgreSQL database next to the one `DATABASE_URL` names, dropped again by `close()`.
 * @example const handle = await createTestDatabase(); afterAll(() => handle.close());
 */
/** A test database; `url` is set on PostgreSQL, for tests that open a second pool (a second "node"). */
export type TestDatabase = DatabaseHandle & { url?: string };

export async function createTestDatabase(): Promise<TestDatabase> {
  const baseUrl = process.env.DATABASE_URL;
  if (baseUrl === undefined || baseUrl === "") {
    return createDatabase({ fromSnapshot: await takeMigratedSnapshot() });
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
  const handle = await createDatabase({ databaseUrl: url.toString(), maxConnections: 5 });
  await handle.migrate();
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

export { createTestClock, type TestClock } from "./clock.ts";
