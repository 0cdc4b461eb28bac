// Hostile input on every route: for each operation of the OpenAPI document, requests that are
// wrong on purpose (bad ids, wrong query types, bodies the schema refuses, broken JSON and bytes,
// wrong content types, oversized and deep bodies, forged and truncated credentials, huge headers),
// sent anonymously, as a signed-in user (re-authenticated, so step-up checks pass and requests reach
// validation and the services) and as an operator holding every platform permission (by session,
// and by an API key with every scope where the operation takes keys). Each answer
// must be a 4xx problem document with a stable code and no internals, and the database must not
// change. docs/security.md ("Hostile input") describes it; BURROW_HOSTILE_RUNS raises the runs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { newId } from "@burrow/platform-core";
import { MAX_JSON_DEPTH } from "@burrow/platform-http";
import {
  changedTables,
  databaseWalk,
  conformingValue,
  deepJson,
  expectProblem,
  HOSTILE_RUNS,
  HOSTILE_SEED,
  hostileId,
  INVALID_UTF8,
  operationsOf,
  refusedBody,
  refusedQueryValue,
  REFUSAL_WRITES,
  snapshotDatabase,
  type Operation,
  type Walk,
} from "./hostile.ts";
import {
  BEARER_CLIENT,
  createTestApi,
  grantPlatformPermissions,
  reauthenticate,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

interface Input {
  params: Record<string, string>;
  query: [string, string][];
  body?: { bytes: string | Uint8Array; type?: string };
}

interface Hostile {
  headers: Record<string, string>;
  input: Input;
}

let api: TestApi;
let user: TestUser;
let operator: TestUser;
/** The operator's API key, with every scope (`*`): for the operations that take keys. */
let operatorKey: Record<string, string>;
let operations: Operation[];
let walk: Walk;

let forged: fc.Arbitrary<Record<string, string>>;

const flipMiddle = (token: string): string => {
  const at = Math.floor(token.length * 0.6);
  const char = token[at] === "A" ? "B" : "A";
  return token.slice(0, at) + char + token.slice(at + 1);
};
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

beforeAll(async () => {
  api = await createTestApi();
  user = await signUpUser(api);
  operator = await signUpUser(api);
  await grantPlatformPermissions(api, operator.id, ["*"]);
  for (const who of [user, operator]) expect((await reauthenticate(api, who)).status).toBe(200);

  // Real credentials, to truncate and tamper with.
  const minted = await api.request("/v1/auth/token", {
    method: "POST",
    headers: { ...user.bearer, ...BEARER_CLIENT },
    json: { grantType: "session" },
  });
  expect(minted.status).toBe(200);
  const { accessToken } = (await minted.json()) as { accessToken: string };
  const created = await api.request("/v1/api-keys", {
    method: "POST",
    headers: user.bearer,
    json: { name: "hostile", scopes: ["profile:read"] },
  });
  expect(created.status).toBe(201);
  const { secret: apiKey } = (await created.json()) as { secret: string };
  const operatorKeyCreated = await api.request("/v1/api-keys", {
    method: "POST",
    headers: operator.bearer,
    json: { name: "hostile operator", scopes: ["*"] },
  });
  expect(operatorKeyCreated.status).toBe(201);
  operatorKey = { "x-api-key": ((await operatorKeyCreated.json()) as { secret: string }).secret };
  // A key's first use is recorded (api_key.first_used, last_used_at): done here, before the snapshot.
  expect((await api.request("/v1/admin/users", { headers: operatorKey })).status).toBe(200);
  const [header, , signature] = accessToken.split(".") as [string, string, string];
  const claims = JSON.parse(Buffer.from(accessToken.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
  const tampered = `${header}.${base64url({ ...claims, sub: operator.id })}.${signature}`;
  const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ ...claims, sub: operator.id })}.`;

  const secret = fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 60 });
  const cut = (token: string) => fc.integer({ min: 1, max: token.length - 1 }).map((length) => token.slice(0, length));
  const token = fc.oneof(
    secret,
    cut(user.token),
    fc.constant(flipMiddle(user.token)),
    secret.map((value) => `${user.token.split(".")[0]}.${value}`),
    cut(accessToken),
    fc.constant(flipMiddle(accessToken)),
    fc.constant(tampered),
    fc.constant(unsigned),
    fc.constant(`${base64url({ alg: "EdDSA", kid: "../../etc/passwd" })}.${base64url(claims)}.${signature}`),
    fc.constant(`${header}.e30.${signature}`),
    fc.constant("x".repeat(12_000)),
  );
  const key = fc.oneof(
    cut(apiKey),
    fc.constant(flipMiddle(apiKey)),
    secret.map((value) => `bk_${value}`),
  );
  forged = fc.oneof(
    token.map((value) => ({ authorization: `Bearer ${value}` })),
    fc
      .constantFrom("Bearer", "Bearer  ", "Basic dXNlcjpwYXNz", "Token abc", `Bearer ${user.token} extra`, "Digest x")
      .map((value) => ({ authorization: value })),
    key.map((value) => ({ "x-api-key": value })),
    key.map((value) => ({ authorization: `Bearer ${value}` })),
    token.map((value) => ({ cookie: `burrow_session=${encodeURIComponent(value)}` })),
    fc.constant({ cookie: `burrow_session=${"a".repeat(12_000)}; burrow_session=${user.token.slice(0, -3)}` }),
  );

  const document = await (await api.request("/openapi.json")).json();
  operations = operationsOf(document as Parameters<typeof operationsOf>[0]);
  walk = await databaseWalk(api.platform.db);
}, 120_000);

afterAll(async () => {
  await api?.close();
});

/** Headers every hostile request may carry on top: odd request ids, forwarded-for, huge fillers. */
const extraHeaders = fc.option(
  fc.oneof(
    fc.constant({ "x-request-id": "../../\u00ff".repeat(500) }),
    fc.constant({ "x-forwarded-for": "not-an-ip, 999.999.999.999, ::ffff:zz" }),
    fc.constant({ "x-filler": "a".repeat(15_000) }),
    fc.constant({ "accept-language": "zz-ZZ;q=2, *;q=-1".repeat(200) }),
    fc.constant({ origin: "https://evil.example" }),
  ),
  { nil: undefined },
);

/** Requests this operation must refuse: each carries at least one thing the operation cannot accept. */
function hostileRequests(operation: Operation): fc.Arbitrary<Hostile> {
  const pathParams = operation.parameters.filter((parameter) => parameter.in === "path");
  const params = fc.record(Object.fromEntries(pathParams.map((parameter) => [parameter.name, hostileId])));
  const hasBody = BODY_METHODS.has(operation.method);
  const json = (value: unknown) => ({ bytes: JSON.stringify(value) ?? "null", type: "application/json" });
  const anyBody = hasBody
    ? fc.option(fc.jsonValue({ maxDepth: 3 }).map(json), { nil: undefined })
    : fc.constant(undefined);
  const noQuery = fc.constant<[string, string][]>([]);

  const refused: fc.Arbitrary<Input>[] = [];
  // Path ids: no such row, another kind, malformed.
  if (pathParams.length > 0) refused.push(fc.record({ params, query: noQuery, body: anyBody }));
  // Query values of the wrong type or range.
  for (const parameter of operation.parameters.filter((parameter) => parameter.in === "query")) {
    const value = refusedQueryValue(parameter);
    if (value !== undefined)
      refused.push(
        fc.record({ params, query: value.map((item): [string, string][] => [[parameter.name, item]]), body: anyBody }),
      );
  }
  // Bodies the schema refuses.
  const body = refusedBody(operation.body);
  if (body !== undefined) refused.push(fc.record({ params, query: noQuery, body: body.map(json) }));
  // Broken bodies, for every method that carries one (schema or not).
  if (hasBody) {
    const limit = api.config.bodyLimitBytes;
    const broken = fc.oneof(
      fc
        .constantFrom('{"a":', "{'a':1}", "[1,]", '{"a":1}}', "nul", '"\\ud800', "\u0000", "{}garbage")
        .map((bytes) => ({
          bytes,
          type: "application/json",
        })),
      fc.constantFrom(...INVALID_UTF8).map((bytes) => ({ bytes, type: "application/json" })),
      fc
        .constantFrom(
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/jsonx",
          "json",
          "application/xml",
          "",
        )
        .map((type) => ({ bytes: '{"email":"a@example.com"}', type })),
      fc.constant({ bytes: '{"email":"a@example.com"}' }),
      fc
        .constantFrom(...deepJson(10_000), ...deepJson(100_000).slice(0, 1))
        .map((bytes) => ({ bytes, type: "application/json" })),
      fc.constant({ bytes: `{"a":"${"x".repeat(limit)}"}`, type: "application/json" }),
    );
    refused.push(fc.record({ params, query: noQuery, body: broken }));
  }

  const variants: fc.Arbitrary<Hostile>[] = [];
  const anyInput = fc.record({ params, query: noQuery, body: anyBody });
  if (operation.secured) variants.push(fc.record({ headers: forged, input: fc.oneof(anyInput, ...refused) }));
  if (refused.length > 0) {
    const callers = fc.constantFrom<Record<string, string>>(
      ...(operation.secured ? [] : [{}]),
      user.bearer,
      operator.bearer,
      ...(operation.takesApiKey ? [operatorKey] : []),
    );
    variants.push(fc.record({ headers: callers, input: fc.oneof(...refused) }));
  }
  if (variants.length === 0) throw new Error(`no hostile request for ${operation.method} ${operation.path}`);
  return fc.tuple(fc.oneof(...variants), extraHeaders).map(([request, extra]) => ({
    ...request,
    headers: { ...extra, ...request.headers },
  }));
}

async function send(operation: Operation, request: Hostile): Promise<Response> {
  const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => request.input.params[name] ?? "x");
  const query = request.input.query.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join("&");
  const headers = new Headers(request.headers);
  const body = request.input.body;
  if (body?.type !== undefined) headers.set("content-type", body.type);
  return api.request(query === "" ? path : `${path}?${query}`, {
    method: operation.method,
    headers,
    ...(body === undefined ? {} : { body: body.bytes as BodyInit }),
  });
}

/** A short, printable account of a request for failure messages. */
const describeRequest = (operation: Operation, request: Hostile) =>
  JSON.stringify({
    ...request,
    input: {
      ...request.input,
      body:
        request.input.body === undefined
          ? undefined
          : { type: request.input.body.type, bytes: String(request.input.body.bytes).slice(0, 200) },
    },
    headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, value.slice(0, 120)])),
    operation: `${operation.method} ${operation.path}`,
  });

// Operations that take nothing a client could get wrong: no credential, no parameter, no body.
const INPUTLESS = new Set(["GET /metrics", "GET /healthz", "GET /readyz", "GET /.well-known/jwks.json"]);

describe("hostile input on every API operation", () => {
  test("the document lists the operations the suite walks", () => {
    expect(operations.length).toBeGreaterThan(100);
    const unwalked = operations
      .filter((operation) => !operation.secured && operation.parameters.length === 0 && operation.body === undefined)
      .filter((operation) => !BODY_METHODS.has(operation.method))
      .map((operation) => `${operation.method} ${operation.path}`);
    expect(unwalked.sort()).toEqual([...INPUTLESS].sort());
  });

  test("every operation refuses every hostile request with a 4xx problem, and the database does not change", async () => {
    const failures: string[] = [];
    for (const operation of operations) {
      if (INPUTLESS.has(`${operation.method} ${operation.path}`)) continue;
      const details = await fc.check(
        fc.asyncProperty(hostileRequests(operation), async (request) => {
          const response = await send(operation, request);
          try {
            await expectProblem(response, describeRequest(operation, request), { page: operation.refusesWithPage });
          } catch (error) {
            throw new Error(error instanceof Error ? error.message : String(error));
          }
        }),
        { numRuns: HOSTILE_RUNS, seed: HOSTILE_SEED, endOnFailure: true },
      );
      await walk.record(failures, `${operation.method} ${operation.path}`, details);
    }
    expect(failures).toEqual([]);
  }, 240_000);
});

/** Names of body fields that carry a secret a public operation redeems. */
const SECRET_FIELD = /token|code|ceremonyId/i;
/**
 * RFC 7009: revoking a token that is not one answers 200 like revoking a live one, so a client
 * cannot probe which tokens exist. Not a refusal, by design (docs/tokens.md).
 */
const ANSWERS_ANY_TOKEN = new Set(["POST /v1/auth/token/revoke"]);

describe("forged secrets in well-formed bodies", () => {
  test("every public operation that redeems a secret refuses a forged one with a 4xx problem, and nothing changes", async () => {
    const redeeming = operations.filter(
      (operation) =>
        !operation.secured &&
        operation.body !== undefined &&
        !ANSWERS_ANY_TOKEN.has(`${operation.method} ${operation.path}`) &&
        (operation.body.oneOf ?? operation.body.anyOf ?? [operation.body]).some((branch) =>
          (branch.required ?? []).some((name) => SECRET_FIELD.test(name)),
        ),
    );
    expect(redeeming.length).toBeGreaterThan(10);
    const failures: string[] = [];
    for (const operation of redeeming) {
      const details = await fc.check(
        fc.asyncProperty(conformingValue(operation.body!), async (body) => {
          const response = await api.request(operation.path, {
            method: operation.method,
            headers: BEARER_CLIENT,
            json: body,
          });
          await expectProblem(response, `${operation.method} ${operation.path} ${JSON.stringify(body).slice(0, 300)}`);
        }),
        { numRuns: HOSTILE_RUNS, seed: HOSTILE_SEED, endOnFailure: true },
      );
      await walk.record(failures, `${operation.method} ${operation.path}`, details);
    }
    expect(failures).toEqual([]);
  }, 240_000);
});

describe("what the walk found, kept as regressions", () => {
  test("a deeply nested body is refused at the edge, also on a route that takes none (it signed the user out)", async () => {
    for (const bytes of deepJson(MAX_JSON_DEPTH + 1)) {
      const response = await api.request("/v1/auth/sign-out", {
        method: "POST",
        headers: { ...user.bearer, "content-type": "application/json" },
        body: bytes,
      });
      expect(await expectProblem(response, "deep body")).toBe("validation_failed");
    }
    const shallow = deepJson(MAX_JSON_DEPTH - 1)[0]!;
    const passkeyOptions = await api.request("/v1/auth/reauthenticate/passkey/options", {
      method: "POST",
      headers: { ...user.bearer, "content-type": "application/json" },
      body: `{"a":"${"[".repeat(100)}\\"","b":${shallow}}`,
    });
    // Brackets inside strings do not count, and 64 levels are allowed: the route answers (no passkey).
    expect(await expectProblem(passkeyOptions, "shallow body")).toBe("no_passkey");
    expect((await api.request("/v1/auth/session", { headers: user.bearer })).status).toBe(200);
  });

  test("an outbox message id that is not one (NUL in it, another kind) names no message: 404, not a 500", async () => {
    for (const id of ["%00", "msg_%00", newId("user"), newId("message")]) {
      const response = await api.request(`/v1/admin/email-messages/${id}/retry`, {
        method: "POST",
        headers: operator.bearer,
      });
      expect(await expectProblem(response, `messageId ${id}`)).toBe("not_found");
    }
  });

  test("a query integer is decimal digits only: 0x10, ' 1', 1e1 and an empty value are refused", async () => {
    for (const value of ["0x10", " 1", "1e1", "", "+5", "1_0"]) {
      const response = await api.request(`/v1/admin/users?limit=${encodeURIComponent(value)}`, {
        headers: operator.bearer,
      });
      expect(await expectProblem(response, `limit=${value}`)).toBe("validation_failed");
    }
    expect((await api.request("/v1/admin/users?limit=10", { headers: operator.bearer })).status).toBe(200);
  });
});

describe("through a real server", () => {
  let server: ReturnType<typeof Bun.serve>;
  beforeAll(() => {
    // As apps/api/src/server.ts serves: Bun's own body limit lifted, the app's is the hard one.
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      fetch: (request, bunServer) => api.app.fetch(request, { server: bunServer }),
    });
  });
  afterAll(() => server?.stop(true));
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;

  test("bodies above the hard limit, declared or streamed, are a 413 problem and change nothing", async () => {
    const before = await snapshotDatabase(api.platform.db, REFUSAL_WRITES);
    const limit = api.config.bodyLimitBytes;
    const declared = await fetch(url("/v1/auth/sign-in"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"email":"${"a".repeat(limit)}@example.com","password":"x"}`,
    });
    expect(await expectProblem(declared, "declared")).toBe("payload_too_large");
    const chunk = new TextEncoder().encode("a".repeat(16_384));
    let sent = 0;
    const streamed = await fetch(url("/v1/me"), {
      method: "PATCH",
      headers: { ...user.bearer, "content-type": "application/json" },
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent > limit * 4) return controller.close();
          sent += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    });
    expect(await expectProblem(streamed, "streamed")).toBe("payload_too_large");
    expect(changedTables(before, await snapshotDatabase(api.platform.db, REFUSAL_WRITES))).toEqual([]);
  });

  test("headers above Bun's 16 KiB limit are refused by Bun itself with a bare 431 before the app runs", async () => {
    // Bun answers these without calling the app, so there is no problem document to give: a 431
    // with an empty body, no internals, and nothing changed (docs/security.md, "Hostile input").
    const before = await snapshotDatabase(api.platform.db, REFUSAL_WRITES);
    const oversized: Record<string, string>[] = [
      { "x-filler": "a".repeat(20_000) },
      { ...user.bearer, cookie: `a=${"b".repeat(70_000)}` },
    ];
    for (const headers of oversized) {
      const response = await fetch(url("/v1/me"), { method: "DELETE", headers });
      expect(response.status).toBe(431);
      expect(await response.text()).toBe("");
    }
    expect(changedTables(before, await snapshotDatabase(api.platform.db, REFUSAL_WRITES))).toEqual([]);
    expect((await fetch(url("/v1/auth/session"), { headers: user.bearer })).status).toBe(200);
  });
});
