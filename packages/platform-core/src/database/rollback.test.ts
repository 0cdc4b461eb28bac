import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { createTestDatabase, type TestDatabase } from "../test-database.ts";
import { DEFAULT_MIGRATIONS_FOLDER, queryRows, type Database } from "./index.ts";

// Runs on PGlite, and on PostgreSQL when DATABASE_URL is set (CI runs it on both).

interface Journal {
  entries: { tag: string; when: number }[];
}

const readJournal = (folder: string): Journal =>
  JSON.parse(readFileSync(join(folder, "meta", "_journal.json"), "utf8")) as Journal;

const temporaryFolders: string[] = [];
afterAll(() => {
  for (const folder of temporaryFolders) rmSync(folder, { recursive: true, force: true });
});

/** A copy of the committed migration set, for tests that cut its journal short or take a file away. */
function copyOfMigrations(): string {
  const folder = mkdtempSync(join(tmpdir(), "burrow-migrations-"));
  temporaryFolders.push(folder);
  cpSync(DEFAULT_MIGRATIONS_FOLDER, folder, { recursive: true });
  return folder;
}

// Every schema but the system's and drizzle's bookkeeping (which no migration creates or drops).
const APP_SCHEMA = sql.raw(
  `n.nspname not in ('pg_catalog', 'information_schema', 'drizzle') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'`,
);

type Fingerprint = Record<string, unknown>;

/**
 * Everything a migration can change, as plain data: the catalog of the app's schemas (tables,
 * columns, constraints, indexes, sequences, functions, triggers, types, extensions) and every row,
 * less `created_at` (seeds stamp it with now()).
 */
async function fingerprint(db: Database): Promise<Fingerprint> {
  const rows = (query: ReturnType<typeof sql>) => queryRows<Record<string, unknown>>(db, query);
  const tables = await rows(sql`
    select n.nspname as schema, c.relname as name, c.relkind as kind
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where ${APP_SCHEMA} and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
    order by 1, 2`);
  const data: Record<string, unknown> = {};
  for (const table of tables.filter((relation) => relation.kind === "r" || relation.kind === "p")) {
    const [result] = await rows(sql`
      select coalesce(jsonb_agg(row order by row::text), '[]'::jsonb)::text as rows
      from (select to_jsonb(t) - 'created_at' as row
            from ${sql.identifier(String(table.schema))}.${sql.identifier(String(table.name))} t) s`);
    data[`${table.schema}.${table.name}`] = JSON.parse(String(result?.rows));
  }
  return {
    schemas: await rows(sql`select n.nspname as name from pg_namespace n where ${APP_SCHEMA} order by 1`),
    tables,
    columns: await rows(sql`
      select c.relname as table, a.attname as column, format_type(a.atttypid, a.atttypmod) as type,
             a.attnotnull as not_null, pg_get_expr(d.adbin, d.adrelid) as default,
             a.attidentity as identity, a.attgenerated as generated
      from pg_attribute a
      join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where ${APP_SCHEMA} and c.relkind in ('r', 'p', 'v', 'm', 'f') and a.attnum > 0 and not a.attisdropped
      order by n.nspname, c.relname, a.attnum`),
    constraints: await rows(sql`
      select co.conrelid::regclass::text as table, co.conname as name, co.contype as type,
             pg_get_constraintdef(co.oid) as definition
      from pg_constraint co join pg_namespace n on n.oid = co.connamespace
      where ${APP_SCHEMA}
      order by 1, 2`),
    indexes: await rows(sql`
      select c.relname as name, pg_get_indexdef(i.indexrelid) as definition
      from pg_index i join pg_class c on c.oid = i.indexrelid join pg_namespace n on n.oid = c.relnamespace
      where ${APP_SCHEMA}
      order by 1`),
    sequences: await rows(sql`
      select n.nspname as schema, c.relname as name, format_type(s.seqtypid, null) as type,
             s.seqstart::text as start, s.seqincrement::text as increment, s.seqmin::text as min,
             s.seqmax::text as max, s.seqcycle as cycle
      from pg_sequence s join pg_class c on c.oid = s.seqrelid join pg_namespace n on n.oid = c.relnamespace
      where ${APP_SCHEMA}
      order by 1, 2`),
    functions: await rows(sql`
      select p.proname as name, pg_get_functiondef(p.oid) as definition
      from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where ${APP_SCHEMA} and p.prokind in ('f', 'p')
      order by 1, 2`),
    triggers: await rows(sql`
      select t.tgrelid::regclass::text as table, t.tgname as name, pg_get_triggerdef(t.oid) as definition
      from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
      where ${APP_SCHEMA} and not t.tgisinternal
      order by 1, 2`),
    types: await rows(sql`
      select t.typname as name, t.typtype as type,
             (select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid) as labels
      from pg_type t join pg_namespace n on n.oid = t.typnamespace
      where ${APP_SCHEMA} and t.typtype in ('e', 'd', 'r', 'm')
      order by 1`),
    extensions: await rows(sql`select extname as name from pg_extension order by 1`),
    data,
  };
}

/** toEqual, with what was just done in the message: the diff alone does not say which migration. */
function expectSameSchema(actual: Fingerprint, expected: Fingerprint | undefined, after: string): void {
  try {
    expect(actual).toEqual(expected as Fingerprint);
  } catch (error) {
    throw new Error(`The schema differs after ${after}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function appliedTags(handle: TestDatabase): Promise<string[]> {
  return (await handle.migrationStatus()).migrations.filter((migration) => migration.applied).map(({ tag }) => tag);
}

describe("migration rollback", () => {
  test("every migration in the journal has a down file, and every down file a migration", () => {
    const tags = readJournal(DEFAULT_MIGRATIONS_FOLDER).entries.map((entry) => entry.tag);
    const missing = tags.filter((tag) => !existsSync(join(DEFAULT_MIGRATIONS_FOLDER, "down", `${tag}.sql`)));
    expect(missing).toEqual([]);
    const downs = readdirSync(join(DEFAULT_MIGRATIONS_FOLDER, "down")).map((file) => file.replace(/\.sql$/, ""));
    expect(downs.filter((tag) => !tags.includes(tag))).toEqual([]);
  });

  test("each down undoes exactly its migration: up one at a time, down to empty, up again", async () => {
    // The journal is cut short and grown one entry at a time, so every state on the way up is seen.
    const folder = copyOfMigrations();
    const journal = readJournal(folder);
    const writeJournal = (count: number) =>
      writeFileSync(
        join(folder, "meta", "_journal.json"),
        JSON.stringify({ ...journal, entries: journal.entries.slice(0, count) }),
      );
    writeJournal(0);
    const handle = await createTestDatabase({ empty: true, migrationsFolder: folder });
    try {
      const empty = await fingerprint(handle.db);
      const afterUp: Fingerprint[] = [];
      for (let count = 1; count <= journal.entries.length; count++) {
        writeJournal(count);
        await handle.migrate();
        afterUp.push(await fingerprint(handle.db));
      }
      const full = afterUp.at(-1);
      const tags = journal.entries.map((entry) => entry.tag);
      expect(await appliedTags(handle)).toEqual(tags);

      // Rolling back one migration gives exactly the state before it was applied.
      for (let index = tags.length - 1; index >= 0; index--) {
        expect(await handle.rollback()).toEqual(tags.slice(index, index + 1));
        const before = index === 0 ? empty : afterUp[index - 1];
        expectSameSchema(await fingerprint(handle.db), before, `rolling back ${tags[index]}`);
      }
      // Nothing is left but drizzle's empty bookkeeping table, and nothing more to roll back.
      expect(await handle.rollback()).toEqual([]);
      expect(await appliedTags(handle)).toEqual([]);
      const bookkeeping = await queryRows<{ name: string; count: number | string }>(
        handle.db,
        sql`select 'drizzle.' || tablename as name, (select count(*) from drizzle.__drizzle_migrations) as count
            from pg_tables where schemaname = 'drizzle'`,
      );
      expect(bookkeeping.map((row) => [row.name, Number(row.count)])).toEqual([["drizzle.__drizzle_migrations", 0]]);

      // Up again from empty: the same schema and the same seeded rows as the first time.
      await handle.migrate();
      expectSameSchema(await fingerprint(handle.db), full, "migrating up again");
      expect((await handle.migrationStatus()).current).toBe(true);
    } finally {
      await handle.close();
    }
  });

  test("rolling back the newest migration keeps the data other tables hold", async () => {
    const handle = await createTestDatabase();
    try {
      const tags = await appliedTags(handle);
      await handle.db.execute(sql`
        insert into users (id, email, email_normalized, name, created_at, updated_at)
        values ('usr_01rollbacktest0000000000', 'Ada@Example.com', 'ada@example.com', 'Ada', now(), now())`);
      const user = sql`select to_jsonb(u)::text as row from users u where id = 'usr_01rollbacktest0000000000'`;
      const before = await queryRows<{ row: string }>(handle.db, user);
      expect(before).toHaveLength(1);

      expect(await handle.rollback()).toEqual(tags.slice(-1));
      expect(await appliedTags(handle)).toEqual(tags.slice(0, -1));
      expect((await handle.migrationStatus()).current).toBe(false);
      await handle.migrate();
      expect(await appliedTags(handle)).toEqual(tags);
      expect(await queryRows<{ row: string }>(handle.db, user)).toEqual(before);
    } finally {
      await handle.close();
    }
  });

  test("rollback({ to }) rolls back until that migration is the newest applied, and it stays", async () => {
    const handle = await createTestDatabase();
    try {
      const tags = await appliedTags(handle);
      const to = tags.at(-3) as string;
      expect(await handle.rollback({ to })).toEqual(tags.slice(-2).reverse());
      expect(await appliedTags(handle)).toEqual(tags.slice(0, -2));
      expect(await handle.rollback({ to })).toEqual([]);
      // A migration that is not applied is no place to roll back to.
      await expect(handle.rollback({ to: tags.at(-1) as string })).rejects.toThrow(
        `Migration ${tags.at(-1)} is not applied`,
      );
      await handle.migrate();
      expect(await appliedTags(handle)).toEqual(tags);
    } finally {
      await handle.close();
    }
  });

  test("an unknown tag, or a missing down file, is an error that changes nothing", async () => {
    // The second newest loses its down file: a two-step rollback must not undo even the newest.
    const folder = copyOfMigrations();
    const secondNewest = readJournal(folder).entries.at(-2)?.tag as string;
    rmSync(join(folder, "down", `${secondNewest}.sql`));
    const handle = await createTestDatabase({ migrationsFolder: folder });
    try {
      const before = { status: await handle.migrationStatus(), schema: await fingerprint(handle.db) };

      const unknown = handle.rollback({ to: "9999_no_such_migration" });
      await expect(unknown).rejects.toMatchObject({ code: "validation_failed" });
      await expect(unknown).rejects.toThrow("There is no migration 9999_no_such_migration in the set.");
      await expect(handle.rollback({ steps: 2 })).rejects.toThrow(
        `Migration ${secondNewest} has no down file: ${join(folder, "down", `${secondNewest}.sql`)} is missing.`,
      );

      expect({ status: await handle.migrationStatus(), schema: await fingerprint(handle.db) }).toEqual(before);
    } finally {
      await handle.close();
    }
  });
});
