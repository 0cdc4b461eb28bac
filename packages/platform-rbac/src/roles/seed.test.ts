import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_MIGRATIONS_FOLDER } from "@burrow/platform-core";
import { seedRolesSql } from "./seed.ts";

describe("built-in roles", () => {
  test("the committed seed migration is what permissions.ts generates", () => {
    expect(readFileSync(join(DEFAULT_MIGRATIONS_FOLDER, "0010_seed_roles.sql"), "utf8")).toBe(seedRolesSql());
  });
});
