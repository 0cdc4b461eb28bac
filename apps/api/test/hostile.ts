// What the hostile-input suites share: the OpenAPI walk, generators of requests that are wrong on
// purpose, the database snapshot that proves a refused request changed nothing, and the check that
// an answer is a clean refusal. (docs/security.md, "Hostile input", says what is sent and why.)
import { expect } from "bun:test";
import fc from "fast-check";
import { sql } from "drizzle-orm";
import { ERROR_CATALOGUE, ID_PREFIXES, newId, queryRows, type Database, type IdKind } from "@burrow/platform-core";

/** Runs per operation and caller; `BURROW_HOSTILE_RUNS=500 bun test …hostile…` searches harder. */
export const HOSTILE_RUNS = Number.parseInt(process.env.BURROW_HOSTILE_RUNS ?? "", 10) || 6;
/** Fixed, so CI runs are repeatable; a failure prints the seed and path fast-check needs to replay it. */
export const HOSTILE_SEED = Number.parseInt(process.env.BURROW_HOSTILE_SEED ?? "", 10) || 18;

/** Codes a refusal may carry: the catalogue's, but the two that mean the server failed. */
export const REFUSAL_CODES = new Set(
  Object.entries(ERROR_CATALOGUE)
    .filter(([, entry]) => entry.status >= 400 && entry.status < 500)
    .map(([code]) => code),
);

/** What an answer must never hold: a stack frame, a source path, a driver's or runtime's own message. */
const LEAKS = [
  /\bat [\w.<>$]+ \(/,
  /\bat (async )?\/\S+:\d+/,
  /\.tsx?:\d+/,
  /\/work\/|\/home\/|\/usr\/|node_modules/,
  /\b(TypeError|RangeError|SyntaxError|ReferenceError|URIError|AggregateError)\b/,
  /Maximum call stack|stack depth|PGlite|postgres|drizzle|relation "|violates|duplicate key|invalid input syntax/i,
];

export function leaks(text: string): RegExp | undefined {
  return LEAKS.find((pattern) => pattern.test(text));
}

// ── The OpenAPI document ──

export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  maxLength?: number;
  minLength?: number;
  maximum?: number;
  minimum?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  /** The OpenAPI path, `{name}` for parameters. */
  path: string;
  parameters: Parameter[];
  body: JsonSchema | undefined;
  /** True when the operation names a security requirement (a credential is needed). */
  secured: boolean;
  /** True when an API key is one of the credentials it takes. */
  takesApiKey: boolean;
  /**
   * True when the operation refuses with an HTML page naming the code rather than a problem
   * document: a browser lands there (the social login's callback), so the document says so.
   */
  refusesWithPage: boolean;
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        parameters?: Parameter[];
        requestBody?: { content: Record<string, { schema: JsonSchema }> };
        security?: unknown[];
        responses?: Record<string, { description?: string; content?: Record<string, unknown> }>;
      }
    >
  >;
  components?: { schemas?: Record<string, JsonSchema> };
}

/** Every operation of the document, with `$ref`s resolved in the body schemas. */
export function operationsOf(document: OpenApiDocument): Operation[] {
  const components = document.components?.schemas ?? {};
  const resolve = (schema: JsonSchema): JsonSchema => {
    if (schema.$ref !== undefined) return resolve(components[schema.$ref.split("/").pop() ?? ""] ?? {});
    const out: JsonSchema = { ...schema };
    if (schema.properties !== undefined)
      out.properties = Object.fromEntries(
        Object.entries(schema.properties).map(([key, value]) => [key, resolve(value)]),
      );
    for (const key of ["anyOf", "oneOf", "allOf"] as const)
      if (schema[key] !== undefined) out[key] = schema[key].map(resolve);
    if (schema.items !== undefined) out.items = resolve(schema.items);
    return out;
  };
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const schema = operation.requestBody?.content["application/json"]?.schema;
      const refusals = Object.entries(operation.responses ?? {}).filter(([status]) => status.startsWith("4"));
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: operation.parameters ?? [],
        body: schema === undefined ? undefined : resolve(schema),
        secured: (operation.security ?? []).length > 0,
        takesApiKey: (operation.security ?? []).some((requirement) => Object.hasOwn(requirement as object, "apiKey")),
        refusesWithPage:
          refusals.length > 0 &&
          refusals.every(([, response]) => response.content === undefined && /page/i.test(response.description ?? "")),
      });
    }
  }
  return operations;
}

// ── Generators ──

const KINDS = Object.keys(ID_PREFIXES) as IdKind[];

/** Identifiers a client should never have: other kinds, no such row, malformed, traversal, broken escapes. */
export const hostileId: fc.Arbitrary<string> = fc.oneof(
  // Well-formed, of any kind, but no such row (the clock is far from the test's, so never a real one).
  fc
    .tuple(fc.constantFrom(...KINDS), fc.integer({ min: 0, max: 2 ** 40 }))
    .map(([kind, ms]) => encodeURIComponent(newId(kind, ms))),
  fc.constantFrom(
    "usr_",
    "usr_00000000000000000000000000",
    "usr_ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
    "usr_8zzzzzzzzzzzzzzzzzzzzzzzzz",
    "ses_01m80vsrdweg5af65ybwzm0tmk.secret",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "%ff%fe",
    "%E0%A4%A",
    "%",
    "null",
    "undefined",
    "0",
    "-1",
    "1e999",
    "__proto__",
    "constructor",
    "%F0%9F%92%A9",
    "'%20or%201%3D1--",
    "x".repeat(5000),
  ),
  fc.string({ unit: "binary", minLength: 1, maxLength: 80 }).map(encodeURIComponent),
);

/** A JSON value of another type than the ones `schema` allows (undefined when every type is allowed). */
function wrongType(schema: JsonSchema): fc.Arbitrary<unknown> | undefined {
  const allowed = new Set(
    schema.type === undefined
      ? (schema.anyOf ?? schema.oneOf ?? []).flatMap((branch) =>
          branch.type === undefined ? ["any"] : [branch.type].flat(),
        )
      : [schema.type].flat(),
  );
  if (allowed.size === 0 || allowed.has("any")) return undefined;
  const candidates: fc.Arbitrary<unknown>[] = [];
  if (!allowed.has("string"))
    candidates.push(fc.string({ maxLength: 20 }), fc.constant("usr_01m80vsrdweg5af65ybwzm0tmk"));
  if (!allowed.has("number") && !allowed.has("integer"))
    candidates.push(fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(1e308)));
  if (!allowed.has("boolean")) candidates.push(fc.boolean());
  if (!allowed.has("null")) candidates.push(fc.constant(null));
  if (!allowed.has("array")) candidates.push(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }));
  if (!allowed.has("object"))
    candidates.push(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }));
  return candidates.length === 0 ? undefined : fc.oneof(...candidates);
}

/** Values of the right type that `schema` still refuses: too long, outside the enum, off the pattern, out of range. */
function wrongValue(schema: JsonSchema): fc.Arbitrary<unknown> | undefined {
  const types = [schema.type ?? []].flat();
  const candidates: fc.Arbitrary<unknown>[] = [];
  if (types.includes("string")) {
    if (schema.maxLength !== undefined) {
      const over = schema.maxLength + 1;
      candidates.push(
        fc.integer({ min: over, max: over + 64 }).map((length) => "x".repeat(length)),
        fc.constant("\u{1F4A9}".repeat(over)),
        fc.constant("a".repeat(Math.max(over, 90_000))),
      );
    }
    if (schema.enum !== undefined) {
      const members = new Set(schema.enum);
      candidates.push(fc.string({ maxLength: 30 }).filter((value) => !members.has(value)));
    }
    if (schema.pattern !== undefined) {
      const pattern = new RegExp(schema.pattern, "u");
      candidates.push(fc.string({ maxLength: 40 }).filter((value) => !pattern.test(value)));
    }
    if (schema.minLength !== undefined && schema.minLength > 0) candidates.push(fc.constant(""));
  }
  if (types.includes("integer")) {
    candidates.push(fc.double({ noInteger: true, noNaN: true, noDefaultInfinity: true }));
    if (schema.maximum !== undefined) candidates.push(fc.integer({ min: schema.maximum + 1 }));
    if (schema.minimum !== undefined) candidates.push(fc.integer({ max: schema.minimum - 1 }));
  }
  if (types.includes("array") && schema.maxItems !== undefined)
    candidates.push(fc.constant(Array.from({ length: schema.maxItems + 1 }, () => "x")));
  return candidates.length === 0 ? undefined : fc.oneof(...candidates);
}

/** A property value that `schema` surely refuses: the wrong type or a wrong value of the right one. */
function refusedValue(schema: JsonSchema): fc.Arbitrary<unknown> | undefined {
  const choices = [wrongType(schema), wrongValue(schema)].filter((choice) => choice !== undefined);
  return choices.length === 0 ? undefined : fc.oneof(...choices);
}

const branchesOf = (schema: JsonSchema): JsonSchema[] => schema.oneOf ?? schema.anyOf ?? [schema];
const isObjectSchema = (schema: JsonSchema) => [schema.type ?? []].flat().includes("object");

/** Arbitrary JSON, deep and wide enough to reach odd corners, small enough to stay under the limit. */
const anyJson = fc.jsonValue({ maxDepth: 3 });

/**
 * Bodies the operation's schema surely refuses: another JSON type at the top, an unknown field
 * (every body schema is closed), a required field left out, or one field wrong while the others are
 * anything at all. Undefined when the operation takes no body.
 */
export function refusedBody(schema: JsonSchema | undefined): fc.Arbitrary<unknown> | undefined {
  if (schema === undefined) return undefined;
  const branches = branchesOf(schema);
  if (!branches.every(isObjectSchema)) return wrongType(schema);
  const known = new Set(branches.flatMap((branch) => Object.keys(branch.properties ?? {})));
  const choices: fc.Arbitrary<unknown>[] = [
    fc.oneof(fc.constant(null), fc.array(anyJson, { maxLength: 3 }), fc.string(), fc.integer(), fc.boolean()),
  ];
  if (branches.every((branch) => branch.additionalProperties === false))
    choices.push(
      fc
        .tuple(
          fc.oneof(
            fc.constantFrom("__proto__", "constructor", "prototype", "isAdmin", "id", "userId"),
            fc.string({ minLength: 1 }),
          ),
          anyJson,
        )
        .filter(([key]) => !known.has(key))
        .map(([key, value]) => JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(value ?? null)}}`)),
    );
  if (branches.every((branch) => (branch.required ?? []).length > 0)) choices.push(fc.constant({}));
  if (branches.length === 1) {
    const [only] = branches as [JsonSchema];
    for (const [name, property] of Object.entries(only.properties ?? {})) {
      const refused = refusedValue(property);
      if (refused === undefined) continue;
      const others = Object.keys(only.properties ?? {}).filter((other) => other !== name);
      choices.push(
        fc
          .tuple(
            refused,
            fc.dictionary(fc.constantFrom(...(others.length > 0 ? others : ["_"])), anyJson, {
              maxKeys: others.length,
            }),
          )
          .map(([value, rest]) => ({ ...(others.length > 0 ? rest : {}), [name]: value })),
      );
    }
  }
  return fc.oneof(...choices);
}

/**
 * Values `schema` accepts (strings kept short): a body of the right shape, to carry a forged secret
 * past validation to the service that must refuse it.
 */
export function conformingValue(schema: JsonSchema): fc.Arbitrary<unknown> {
  const branches = schema.oneOf ?? schema.anyOf;
  if (branches !== undefined) return fc.oneof(...branches.map(conformingValue));
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  const type = [schema.type ?? "string"].flat()[0];
  if (type === "object") {
    const properties = Object.entries(schema.properties ?? {});
    const required = new Set(schema.required ?? []);
    return fc.record(Object.fromEntries(properties.map(([name, property]) => [name, conformingValue(property)])), {
      requiredKeys: properties.map(([name]) => name).filter((name) => required.has(name)),
    });
  }
  if (type === "array")
    return fc.array(conformingValue(schema.items ?? {}), { maxLength: Math.min(schema.maxItems ?? 3, 3) });
  if (type === "boolean") return fc.boolean();
  if (type === "integer" || type === "number")
    return fc.integer({ min: schema.minimum ?? 0, max: Math.min(schema.maximum ?? 1000, 1000) });
  if (schema.format === "email") return fc.stringMatching(/^[a-z0-9]{1,20}$/).map((local) => `${local}@example.com`);
  if (schema.pattern !== undefined) return fc.stringMatching(new RegExp(schema.pattern));
  const minLength = schema.minLength ?? 0;
  return fc.string({
    unit: "grapheme-ascii",
    minLength,
    maxLength: Math.max(minLength, Math.min(schema.maxLength ?? 60, 60)),
  });
}

/** Query values the parameter's schema surely refuses, or undefined when it takes any string. */
export function refusedQueryValue(parameter: Parameter): fc.Arbitrary<string> | undefined {
  const schema = parameter.schema;
  const types = [schema.type ?? []].flat();
  const choices: fc.Arbitrary<string>[] = [];
  if (types.includes("integer"))
    choices.push(fc.constantFrom("abc", "1.5", "1e999", "-1", "0x10", "99999999999999999999", "NaN", "", " 1"));
  if (schema.format === "date-time")
    choices.push(fc.constantFrom("yesterday", "2026-13-45T99:99:99Z", "0", "' or 1=1"));
  const value = wrongValue(schema);
  if (value !== undefined) choices.push(value.map(String));
  // Ids named by the parameter but typed as plain strings are parsed by the routes.
  if (/Id$/.test(parameter.name) && types.includes("string") && schema.pattern === undefined)
    choices.push(fc.constantFrom("usr_", "not-an-id", "org_ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "x".repeat(3000)));
  return choices.length === 0 ? undefined : fc.oneof(...choices);
}

/** Deeply nested documents: arrays, objects, and a deep value in a field. */
export function deepJson(depth: number): string[] {
  return [
    `${"[".repeat(depth)}${"]".repeat(depth)}`,
    `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
    `{"metadata":${'{"a":'.repeat(depth)}1${"}".repeat(depth)},"name":${"[".repeat(depth)}${"]".repeat(depth)}}`,
  ];
}

/** Bytes that are not UTF-8: a lone continuation byte, an overlong slash, a surrogate, a cut sequence. */
export const INVALID_UTF8: Uint8Array[] = [
  new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0x80, 0x22, 0x7d]),
  new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc0, 0xaf, 0x22, 0x7d]),
  new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
  new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0x22, 0x7d]),
  new Uint8Array([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]),
];

// ── Checking an answer ──

/**
 * Asserts a refusal: a 4xx problem document with a stable code, and nothing internal in it. With
 * `page`, the designed answer is an HTML page naming the code (`<code>…</code>`) instead.
 */
export async function expectProblem(
  response: Response,
  what: string,
  options: { page?: boolean } = {},
): Promise<string> {
  const text = await response.text();
  const label = `${what} → ${response.status} ${text.slice(0, 300)}`;
  expect(response.status, label).toBeGreaterThanOrEqual(400);
  expect(response.status, label).toBeLessThan(500);
  if (options.page === true && response.headers.get("content-type")?.startsWith("text/html")) {
    const code = /<code>([a-z_]+)<\/code>/.exec(text)?.[1];
    expect(REFUSAL_CODES.has(String(code)), label).toBe(true);
    expect(leaks(text)?.source ?? null, label).toBeNull();
    return String(code);
  }
  expect(response.headers.get("content-type") ?? "", label).toStartWith("application/problem+json");
  const problem = JSON.parse(text) as { code?: unknown; status?: unknown };
  expect(REFUSAL_CODES.has(String(problem.code)), label).toBe(true);
  expect(problem.status, label).toBe(response.status);
  expect(leaks(text)?.source ?? null, label).toBeNull();
  return String(problem.code);
}

// ── The database ──

/** A table's row count and a hash of all its rows, by name. */
export type Snapshot = Record<string, { rows: number; hash: string }>;

/**
 * What a snapshot leaves out, by table: `null` for the whole table, or an SQL condition naming the
 * rows that are kept (the others may change on a refused request).
 */
export type Exclusions = ReadonlyMap<string, string | null>;

/**
 * Every table's row count and content hash (all schemas but the catalogues; the migrations
 * journal included), in one query, minus the exclusions.
 */
export async function snapshotDatabase(db: Database, excluded: Exclusions): Promise<Snapshot> {
  const tables = await queryRows<{ name: string }>(
    db,
    sql`select quote_ident(schemaname) || '.' || quote_ident(tablename) as name from pg_tables
        where schemaname not in ('pg_catalog', 'information_schema') order by 1`,
  );
  const union = tables
    .map((table) => ({ name: table.name, kept: excluded.get(table.name.replace(/^public\./, "")) }))
    .filter((table) => table.kept !== null)
    .map(
      ({ name, kept }) =>
        `select '${name}' as name, count(*)::int as rows, coalesce(md5(string_agg(t::text, '|' order by t::text)), '') as hash from ${name} t${kept === undefined ? "" : ` where ${kept}`}`,
    )
    .join(" union all ");
  const rows = await queryRows<{ name: string; rows: number; hash: string }>(db, sql.raw(union));
  return Object.fromEntries(rows.map((row) => [row.name, { rows: Number(row.rows), hash: row.hash }]));
}

/**
 * What a refused request may legitimately write, left out of the snapshots (both suites):
 * - rate_limit_buckets: counting refused attempts is the limiter's job (and how floods are slowed).
 * - sign_in_throttles: a wrong password (the token endpoint's password grant, the console's sign-in
 *   form) is counted against the address and the client: that is how password guessing is slowed.
 * - security_events: many refused sign-ins raise `credential_stuffing` and `account_locked`, which
 *   is what an operator should see.
 * - audit_logs, but the rows whose outcome is `success` other than `user.locked`: the trail of refused
 *   attempts is the point of an audit log, and a lockout is the answer to them (recorded for any
 *   address, known or not). Every other success row still counts as a change.
 */
export const REFUSAL_WRITES: Exclusions = new Map([
  ["rate_limit_buckets", null],
  ["sign_in_throttles", null],
  ["security_events", null],
  ["audit_logs", "outcome = 'success' and action <> 'user.locked'"],
]);

/** The tables whose count or hash differ between two snapshots. */
export function changedTables(before: Snapshot, after: Snapshot): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter(
    (name) => before[name]?.rows !== after[name]?.rows || before[name]?.hash !== after[name]?.hash,
  );
}

/** A walk over many routes: what each one's property found, judged against the database as it goes. */
export interface Walk {
  /**
   * Adds what one route's walk found to `failures`: the property's counterexample (with the seed
   * and path to replay it), and any table it changed (then the snapshot moves on, so the next route
   * is judged on its own).
   */
  record<Value>(failures: string[], route: string, details: fc.RunDetails<Value>): Promise<void>;
}

/** A walk over `db`, from its state now (both suites: the API's operations, the console's routes). */
export async function databaseWalk(db: Database): Promise<Walk> {
  let baseline = await snapshotDatabase(db, REFUSAL_WRITES);
  return {
    async record(failures, route, details) {
      if (details.failed)
        failures.push(
          `${route} (seed ${details.seed}, path ${details.counterexamplePath}): ${String(details.errorInstance).slice(0, 900)}`,
        );
      const changed = changedTables(baseline, await snapshotDatabase(db, REFUSAL_WRITES));
      if (changed.length > 0) {
        failures.push(`${route} changed ${changed.join(", ")}`);
        baseline = await snapshotDatabase(db, REFUSAL_WRITES);
      }
    },
  };
}
