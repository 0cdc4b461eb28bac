import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_MIGRATIONS_FOLDER, isId, type DatabaseHandle } from "@burrow/platform-core";
import { createTestDatabase } from "@burrow/platform-core/testing";
import { emailTemplates } from "../schema.ts";
import { DEFAULT_TEMPLATES } from "./defaults.ts";
import { REVISION_MIGRATIONS, reviseSql, SEED_MIGRATIONS, seededBy, seedSql } from "./seed.ts";

describe("seeded templates", () => {
  let handle: DatabaseHandle;
  beforeAll(async () => {
    handle = await createTestDatabase();
  });
  afterAll(() => handle.close());

  const committed = (file: string) => readFileSync(join(DEFAULT_MIGRATIONS_FOLDER, file), "utf8");
  const revised = new Set(REVISION_MIGRATIONS.flatMap((migration) => migration.keys));

  test("each committed seed migration is what defaults.ts generates for its templates, and together they seed every default", () => {
    for (const migration of SEED_MIGRATIONS) {
      // A seed whose templates were revised later is history; the database test below checks the result.
      if (migration.keys.some((key) => revised.has(key))) continue;
      expect(committed(migration.file)).toBe(seedSql(seededBy(migration.keys)));
    }
    for (const migration of REVISION_MIGRATIONS)
      expect(committed(migration.file)).toContain(reviseSql(seededBy(migration.keys)));
    expect(SEED_MIGRATIONS.flatMap((migration) => migration.keys).sort()).toEqual(
      DEFAULT_TEMPLATES.map((template) => template.key).sort(),
    );
  });

  test("every default template is in the database as active version 1", async () => {
    const rows = await handle.db.select().from(emailTemplates);
    expect(rows.map((row) => row.key).sort()).toEqual(DEFAULT_TEMPLATES.map((template) => template.key).sort());
    for (const row of rows) {
      expect(row).toMatchObject({ locale: "en", version: 1, active: true });
      expect(isId("template", row.id)).toBe(true);
      const source = DEFAULT_TEMPLATES.find((template) => template.key === row.key)!;
      expect(row.mjml).toBe(source.mjml);
      expect(row.text).toBe(source.text);
      expect(row.subject).toBe(source.subject);
      expect(row.variables).toEqual(source.variables);
    }
  });
});
