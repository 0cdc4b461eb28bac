// Hostile input on every console route: forged and truncated console session cookies, missing and
// forged CSRF tokens, bad ids in paths, oversized, mistyped and non-UTF-8 form bodies. The console's
// designed refusal is an HTML error page with a 4xx status (or, without a session, the redirect to
// its sign-in page); never a 2xx for a hostile request, never a 5xx, never internals; and the
// database does not change. docs/security.md, "Hostile input".
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { Hono } from "hono";
import {
  changedTables,
  databaseWalk,
  HOSTILE_RUNS,
  HOSTILE_SEED,
  hostileId,
  leaks,
  REFUSAL_WRITES,
  snapshotDatabase,
  type Walk,
} from "../../api/test/hostile.ts";
import { sql } from "drizzle-orm";
import { createLogger } from "@burrow/platform-core";
import { createAdminApp } from "../src/app.tsx";
import { createTestApi, type TestApi } from "../../api/test/helpers.ts";
import { ADMIN, Browser, createTestConsole, operatorWith, signInWithCode } from "./console.ts";

/** Pages anyone may open (the sign-in form, static assets): nothing there to refuse. */
const PUBLIC_PAGES = new Set([
  "GET /sign-in",
  "GET /assets/admin.css",
  "GET /assets/passkey.js",
  "GET /assets/htmx.min.js",
]);

let api: TestApi;
let admin: Hono<never>;
let browser: Browser;
let sessionCookie: string;
let csrfCookie: string;
let walk: Walk;

beforeAll(async () => {
  const created = await createTestConsole();
  api = created.api;
  admin = created.admin as unknown as Hono<never>;
  const { user, secret } = await operatorWith(api, ["*"]);
  browser = await signInWithCode(api, created.admin, user, secret);
  await browser.get("/users");
  sessionCookie = browser.cookies.get("burrow_admin") ?? "";
  csrfCookie = browser.cookies.get("burrow_admin_csrf") ?? "";
  expect(sessionCookie).not.toBe("");
  expect(browser.csrf).not.toBe("");
  walk = await databaseWalk(api.platform.db);
}, 120_000);

afterAll(async () => {
  await api?.close();
});

interface Route {
  method: string;
  path: string;
}

interface Hostile {
  cookie: string;
  params: Record<string, string>;
  query?: [string, string];
  body?: { bytes: string | Uint8Array; type: string };
  origin?: string;
}

const paramsOf = (path: string) =>
  [...path.matchAll(/:(\w+)(\{[^}]*\})?/g)].map((match) => ({ name: match[1]!, choices: match[2] }));

function hostileRequests(route: Route): fc.Arbitrary<Hostile> {
  const signedIn = `burrow_admin=${sessionCookie}; burrow_admin_csrf=${csrfCookie}`;
  const cut = (token: string) => fc.integer({ min: 1, max: token.length - 1 }).map((length) => token.slice(0, length));
  const forgedCookie = fc.oneof(
    fc.constant(""),
    cut(sessionCookie).map((value) => `burrow_admin=${value}; burrow_admin_csrf=${csrfCookie}`),
    fc.string({ unit: "grapheme-ascii", maxLength: 60 }).map((value) => `burrow_admin=${encodeURIComponent(value)}`),
    fc.constant(`burrow_admin=${sessionCookie.split(".")[0]}.forged; burrow_admin_csrf=${csrfCookie}`),
    fc.constant(`burrow_admin=${"a".repeat(8000)}`),
  );
  const params = fc.record(
    Object.fromEntries(
      paramsOf(route.path).map(({ name, choices }) => [
        name,
        choices === undefined ? hostileId : fc.constantFrom(...choices.slice(1, -1).split("|")),
      ]),
    ),
  );
  const idParams = paramsOf(route.path).filter((param) => param.choices === undefined);
  const form = (fields: Record<string, string>) => ({
    bytes: new URLSearchParams(fields).toString(),
    type: "application/x-www-form-urlencoded",
  });
  const garbage = fc.dictionary(
    fc.constantFrom("email", "name", "code", "password", "role", "key", "url", "subject", "body", "permissions", "x"),
    fc.oneof(fc.string({ maxLength: 40 }), fc.constant("\u0000"), fc.constant("x".repeat(3000))),
    { maxKeys: 4 },
  );
  const post = route.method === "POST";
  const variants: fc.Arbitrary<Hostile>[] = [];
  // No session, or a forged or cut one: the sign-in page (a redirect) or a refusal, whatever is sent.
  variants.push(
    fc.record({
      cookie: forgedCookie,
      params,
      origin: fc.constant(ADMIN),
      ...(post ? { body: garbage.map((fields) => form({ ...fields, _csrf: browser.csrf })) } : {}),
    }),
  );
  if (post) {
    // The operator's session, but the form's token missing, forged or cut, or the Origin another site's.
    const badToken = fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 50 }),
      cut(browser.csrf),
      fc.constant(`${browser.csrf.slice(0, -1)}${browser.csrf.endsWith("A") ? "B" : "A"}`),
    );
    variants.push(
      fc.record({
        cookie: fc.constant(signedIn),
        params,
        origin: fc.constant(ADMIN),
        body: fc
          .tuple(garbage, badToken)
          .map(([fields, token]) => form(token === undefined ? fields : { ...fields, _csrf: token })),
      }),
      fc.record({
        cookie: fc.constant(signedIn),
        params,
        origin: fc.constantFrom("https://evil.example", "null", `${ADMIN}.evil.example`),
        body: garbage.map((fields) => form({ ...fields, _csrf: browser.csrf })),
      }),
      // The right token in a body the form reader does not read, or in bytes that are not UTF-8.
      fc.record({
        cookie: fc.constant(signedIn),
        params,
        origin: fc.constant(ADMIN),
        body: fc.constantFrom(
          { bytes: JSON.stringify({ _csrf: browser.csrf }), type: "application/json" },
          { bytes: `_csrf=${browser.csrf}`, type: "text/plain" },
          {
            bytes: new Uint8Array([0x5f, 0x63, 0x73, 0x72, 0x66, 0x3d, 0xff, 0xfe, 0xc0, 0xaf]),
            type: "application/x-www-form-urlencoded",
          },
        ),
      }),
      // Over the console's 64 KiB form limit.
      fc.record({
        cookie: fc.constant(signedIn),
        params,
        origin: fc.constant(ADMIN),
        body: fc.constant(form({ _csrf: browser.csrf, name: "x".repeat(70_000) })),
      }),
    );
  }
  // The operator, everything right but a control character (NUL among them) in a field or the query.
  const control = fc
    .tuple(fc.constantFrom("\u0000", "\u0001", "\u001b", "\u007f"), fc.string({ maxLength: 10 }))
    .map(([char, text]) => `${text}${char}${text}`);
  const named = fc.constantFrom("email", "query", "name", "code", "status", "to", "q");
  variants.push(
    post
      ? fc.record({
          cookie: fc.constant(signedIn),
          params,
          origin: fc.constant(ADMIN),
          body: fc
            .tuple(garbage, named, control)
            .map(([fields, name, value]) => form({ ...fields, [name]: value, _csrf: browser.csrf })),
        })
      : fc.record({ cookie: fc.constant(signedIn), params, query: fc.tuple(named, control) }),
  );
  // The operator, everything right but the ids in the path: no such row, another kind, malformed.
  if (idParams.length > 0)
    variants.push(
      fc.record({
        cookie: fc.constant(signedIn),
        params,
        origin: fc.constant(ADMIN),
        ...(post ? { body: garbage.map((fields) => form({ ...fields, _csrf: browser.csrf })) } : {}),
      }),
    );
  return fc.oneof(...variants);
}

async function send(route: Route, request: Hostile): Promise<Response> {
  const filled = route.path.replace(/:(\w+)(\{[^}]*\})?/g, (_, name: string) => request.params[name] ?? "x");
  const path = request.query === undefined ? filled : `${filled}?${new URLSearchParams([request.query])}`;
  const headers = new Headers();
  if (request.cookie !== "") headers.set("cookie", request.cookie);
  if (request.origin !== undefined && route.method === "POST") headers.set("origin", request.origin);
  if (request.body !== undefined) headers.set("content-type", request.body.type);
  return admin.request(
    `${ADMIN}${path}`,
    { method: route.method, headers, ...(request.body === undefined ? {} : { body: request.body.bytes as BodyInit }) },
    { remoteAddress: "192.0.2.20" },
  );
}

/** A refusal as the console designs it: a 4xx HTML page, or the way to its sign-in page. */
async function expectRefused(response: Response, what: string): Promise<void> {
  const text = await response.text();
  const label = `${what} → ${response.status} ${response.headers.get("location") ?? ""} ${text.slice(0, 200)}`;
  if (response.status === 303) {
    expect(response.headers.get("location"), label).toBe("/sign-in");
    return;
  }
  expect(response.status, label).toBeGreaterThanOrEqual(400);
  expect(response.status, label).toBeLessThan(500);
  expect(response.headers.get("content-type") ?? "", label).toStartWith("text/html");
  expect(leaks(text)?.source ?? null, label).toBeNull();
}

describe("hostile input on every console route", () => {
  test("every route refuses every hostile request, and the database does not change", async () => {
    const routes = (admin.routes as Route[])
      .filter((route) => route.method === "GET" || route.method === "POST")
      .filter((route) => !PUBLIC_PAGES.has(`${route.method} ${route.path}`));
    expect(routes.length).toBeGreaterThan(60);
    const failures: string[] = [];
    for (const route of routes) {
      const details = await fc.check(
        fc.asyncProperty(hostileRequests(route), async (request) => {
          const response = await send(route, request);
          const shown = JSON.stringify({ ...request, body: request.body && String(request.body.bytes).slice(0, 120) });
          await expectRefused(response, `${route.method} ${route.path} ${shown}`);
        }),
        { numRuns: HOSTILE_RUNS, seed: HOSTILE_SEED, endOnFailure: true },
      );
      await walk.record(failures, `${route.method} ${route.path}`, details);
    }
    expect(failures).toEqual([]);
  }, 240_000);
});

describe("what the walk found, kept as regressions", () => {
  /** The console over a test API of its own, with every line that API logs kept. */
  async function consoleKeepingLog() {
    const lines: string[] = [];
    const logged = await createTestApi(
      { ADMIN_URL: ADMIN },
      { log: createLogger({ level: "debug", write: (line) => lines.push(line) }) },
    );
    return { lines, logged, pages: createAdminApp(logged.platform) };
  }

  test("a control character in a console form, path or query string is a 400 page, not a failed query that logged its parameters", async () => {
    const { lines, logged, pages } = await consoleKeepingLog();
    try {
      const { user, secret } = await operatorWith(logged, ["*"]);
      const operator = await signInWithCode(logged, pages, user, secret);
      const visitor = new Browser(pages);
      await visitor.get("/sign-in");
      const before = await snapshotDatabase(logged.platform.db, REFUSAL_WRITES);
      const signIn = await visitor.post("/sign-in", { email: "nul\u0000@example.com", password: "secret\u0000word" });
      expect(signIn.status).toBe(400);
      await expectRefused(signIn, "NUL in the sign-in form");
      const search = await operator.get(`/users?query=${encodeURIComponent("a\u0000")}`);
      expect(search.status).toBe(400);
      await expectRefused(search, "NUL in a query string");
      const path = await operator.get("/orgs/%00");
      expect(path.status).toBe(400);
      await expectRefused(path, "NUL in a path id");
      expect(changedTables(before, await snapshotDatabase(logged.platform.db, REFUSAL_WRITES))).toEqual([]);
      expect(lines.filter((line) => line.includes("admin request failed"))).toEqual([]);
      expect(lines.join("\n")).not.toContain("nul\\u0000@example.com");
    } finally {
      await logged.close();
    }
  }, 120_000);

  test("a write that lost a race its service did not answer is a 409 page, still logged as an error", async () => {
    const { lines, logged, pages } = await consoleKeepingLog();
    try {
      // A real unique violation from the database, as a check-then-insert that lost its race meets.
      pages.get("/lost-race", async () => {
        await logged.platform.db.transaction(async (tx) => {
          await tx.execute(sql`create temporary table lost_race (id int primary key) on commit drop`);
          await tx.execute(sql`insert into lost_race values (1), (1)`);
        });
        return new Response(null, { status: 204 });
      });
      const response = await pages.request("/lost-race");
      expect(response.status).toBe(409);
      expect(await response.text()).toContain("Another request changed the same thing at the same moment.");
      expect(lines.filter((line) => line.includes("concurrent change not answered by its service"))).toHaveLength(1);
      expect(lines.filter((line) => line.includes("admin request failed"))).toEqual([]);
    } finally {
      await logged.close();
    }
  });
});
