import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

// docs/security.md's ASVS 5.0 checklist may only cite tests that exist: every cited file must be
// there and hold a test of that name, every "Meets" must cite one, and every level 1 and 2
// requirement of the chapters the checklist covers must be answered exactly once.

const ROOT = join(import.meta.dir, "..", "..", "..");
const SECURITY = readFileSync(join(ROOT, "docs", "security.md"), "utf8");

/** The ASVS 5.0.0 requirements the checklist answers (levels 1 and 2), with their levels. */
const REQUIRED: Record<string, 1 | 2> = {
  ...levels(1, "V3.3.1 V3.4.1 V3.4.2 V3.5.1 V3.5.2 V3.5.3"),
  ...levels(2, "V3.3.2 V3.3.3 V3.3.4 V3.4.3 V3.4.4 V3.4.5 V3.4.6 V3.5.4 V3.5.5 V3.7.2"),
  ...levels(1, "V6.1.1 V6.2.1 V6.2.2 V6.2.3 V6.2.4 V6.2.5 V6.2.6 V6.2.7 V6.2.8 V6.3.1 V6.3.2 V6.4.1 V6.4.2"),
  ...levels(
    2,
    "V6.1.2 V6.1.3 V6.2.9 V6.2.10 V6.2.11 V6.2.12 V6.3.3 V6.3.4 V6.4.3 V6.4.4 V6.5.1 V6.5.2 V6.5.3 V6.5.4 " +
      "V6.5.5 V6.6.1 V6.6.2 V6.6.3 V6.8.1 V6.8.2 V6.8.3 V6.8.4",
  ),
  ...levels(1, "V7.2.1 V7.2.2 V7.2.3 V7.2.4 V7.4.1 V7.4.2"),
  ...levels(2, "V7.1.1 V7.1.2 V7.1.3 V7.3.1 V7.3.2 V7.4.3 V7.4.4 V7.4.5 V7.5.1 V7.5.2 V7.6.1 V7.6.2"),
  ...levels(1, "V8.1.1 V8.2.1 V8.2.2 V8.3.1"),
  ...levels(2, "V8.1.2 V8.2.3 V8.4.1"),
  ...levels(1, "V9.1.1 V9.1.2 V9.1.3 V9.2.1"),
  ...levels(2, "V9.2.2 V9.2.3 V9.2.4"),
  ...levels(1, "V10.4.1 V10.4.2 V10.4.3 V10.4.4 V10.4.5"),
  ...levels(
    2,
    "V10.1.1 V10.1.2 V10.2.1 V10.2.2 V10.3.1 V10.3.2 V10.3.3 V10.3.4 V10.4.6 V10.4.7 V10.4.8 V10.4.9 " +
      "V10.4.10 V10.4.11 V10.5.1 V10.5.2 V10.5.3 V10.5.4 V10.5.5 V10.6.1 V10.6.2 V10.7.1 V10.7.2 V10.7.3",
  ),
};

function levels(level: 1 | 2, ids: string): Record<string, 1 | 2> {
  return Object.fromEntries(ids.split(" ").map((id) => [id, level]));
}

const STATUSES = ["Meets", "Partly", "Does not meet", "N/A"] as const;

interface Row {
  id: string;
  level: string;
  status: string;
  how: string;
  citations: { file: string; name: string }[];
}

/** The text of one `## ` section, up to the next. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start === -1) return "";
  const next = markdown.indexOf("\n## ", start + heading.length + 5);
  return markdown.slice(start, next === -1 ? undefined : next);
}

function checklistRows(): Row[] {
  return section(SECURITY, "ASVS 5.0 level 2 checklist")
    .split("\n")
    .filter((line) => /^\| V\d+\.\d+\.\d+ \|/.test(line))
    .map((line) => {
      const cells = line
        .slice(1, -1)
        .split(" | ")
        .map((cell) => cell.trim());
      expect(cells, line).toHaveLength(6);
      const [id, level, , status, how, tests] = cells as [string, string, string, string, string, string];
      const citations = [...tests.matchAll(/`([^`]+?\.test\.ts)` › "([^"]+)"/g)].map((match) => ({
        file: match[1]!,
        name: match[2]!,
      }));
      return { id, level, status, how, citations };
    });
}

/** Titles written as templates (`${…}`) or for test.each (`%s`), as patterns a cited name must match. */
function titlePatterns(source: string): RegExp[] {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const templates = [...source.matchAll(/\b(?:test|it|describe)\(\s*`([^`]*)`/g)].map((match) =>
    match[1]!
      .split(/\$\{[^}]*\}/)
      .map(escape)
      .join(".+"),
  );
  const each = [...source.matchAll(/\)\(\s*(["'])((?:(?!\1).)*%[sdpi](?:(?!\1).)*)\1/g)].map((match) =>
    match[2]!
      .split(/%[sdpi]/)
      .map(escape)
      .join(".+"),
  );
  return [...templates, ...each].map((pattern) => new RegExp(`^${pattern}$`));
}

function testExists(file: string, name: string): boolean {
  const path = join(ROOT, file);
  if (!existsSync(path)) return false;
  const source = readFileSync(path, "utf8");
  if ([`"${name}"`, `'${name}'`, `\`${name}\``].some((quoted) => source.includes(quoted))) return true;
  return titlePatterns(source).some((pattern) => pattern.test(name));
}

describe("docs/security.md's ASVS checklist", () => {
  const rows = checklistRows();

  test("answers every level 1 and 2 requirement of its chapters exactly once, at its level", () => {
    const ids = rows.map((row) => row.id);
    expect(ids.filter((id, index) => ids.indexOf(id) !== index)).toEqual([]);
    expect([...ids].sort()).toEqual(Object.keys(REQUIRED).sort());
    for (const row of rows) expect(`${row.id} L${row.level}`).toBe(`${row.id} L${REQUIRED[row.id]}`);
  });

  test("the summary's counts are the table's", () => {
    const count = (status: string) => rows.filter((row) => row.status === status).length;
    const summary = section(SECURITY, "ASVS 5.0 level 2 checklist");
    expect(summary).toContain(`Of the ${rows.length} requirements, **${count("Meets")} are met**`);
    expect(summary).toContain(`**${count("Partly")} partly**`);
    expect(summary).toContain(`**${count("Does not meet")} not met**`);
    expect(summary).toContain(`**${count("N/A")} are not applicable**`);
  });

  test("every row has a status and says how; a gap says what would close it", () => {
    for (const row of rows) {
      expect(STATUSES as readonly string[], row.id).toContain(row.status);
      expect(row.how.length, row.id).toBeGreaterThan(10);
      if (row.status === "Partly" || row.status === "Does not meet")
        expect(row.how, row.id).toMatch(/to close|closes this item/i);
    }
  });

  test("every Meets cites a test, and every cited test exists in the file it names", () => {
    const missing: string[] = [];
    for (const row of rows) {
      if (row.status === "Meets" && row.citations.length === 0) missing.push(`${row.id}: Meets without a test`);
      for (const { file, name } of row.citations)
        if (!testExists(file, name)) missing.push(`${row.id}: ${file} › "${name}"`);
    }
    expect(missing).toEqual([]);
    expect(rows.flatMap((row) => row.citations).length).toBeGreaterThan(100);
  });

  test("the check itself refuses a test that does not exist, and a file that does not", () => {
    expect(testExists("apps/api/test/tokens.test.ts", "wrong iss, aud or typ is refused")).toBe(true);
    expect(testExists("apps/api/test/orgs.test.ts", "role matrix: GET /v1/orgs/{id}")).toBe(true);
    expect(testExists("apps/api/test/social-login.test.ts", "an ID token with a wrong nonce is refused")).toBe(true);
    expect(testExists("apps/api/test/tokens.test.ts", "wrong iss, aud or typ is accepted")).toBe(false);
    expect(testExists("apps/api/test/no-such-file.test.ts", "wrong iss, aud or typ is refused")).toBe(false);
  });
});

describe("reporting a vulnerability", () => {
  test("docs/security.md says how, and the root SECURITY.md points there", () => {
    const reporting = section(SECURITY, "Reporting a vulnerability");
    expect(reporting).toContain("security@");
    expect(reporting).toMatch(/private vulnerability reporting/i);
    const policy = readFileSync(join(ROOT, "SECURITY.md"), "utf8");
    expect(policy).toContain("docs/security.md#reporting-a-vulnerability");
  });
});
