// The example end to end over real sockets on 127.0.0.1, against embedded PostgreSQL in a temporary
// folder: Burrow's routes under /auth, sign-up and sign-in, the builder's guarded routes, the API
// reference, the operator console's assets, and @burrow/client plus the token verifier under Node.js.
// Exits non-zero at the first thing that is not as expected.
//   bun run smoke.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createExampleApp, type ExampleApp } from "./src/app.ts";

function check(condition: boolean, what: string, detail?: unknown): void {
  if (!condition) throw new Error(`smoke: ${what}${detail === undefined ? "" : ` (${JSON.stringify(detail)})`}`);
  console.log(`ok  ${what}`);
}

const dataDir = mkdtempSync(join(tmpdir(), "burrow-example-"));
let example: ExampleApp | undefined;
// The server is up before the app exists so PUBLIC_URL can be its real origin; until then it answers 503.
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (request, bunServer) =>
    example?.app.fetch(request, { server: bunServer }) ?? new Response(null, { status: 503 }),
});
const console_ = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (request, bunServer) =>
    example?.admin.fetch(request, { server: bunServer }) ?? new Response(null, { status: 503 }),
});
const origin = server.url.origin;

try {
  example = await createExampleApp({
    dataDir,
    publicUrl: origin,
    // Verification off keeps the smoke short (the embedding tests follow the mailed link); request logs off.
    env: { ...process.env, NODE_ENV: "development", BURROW_EMAIL_VERIFICATION: "off", LOG_LEVEL: "warn" },
  });
  const bearer = { "x-burrow-client": "bearer", "content-type": "application/json" };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${origin}${path}`, { method: "POST", headers: { ...bearer, ...headers }, body: JSON.stringify(body) });

  check((await fetch(`${origin}/auth/readyz`)).status === 200, "Burrow answers under /auth (readyz)");

  const anonymous = await fetch(`${origin}/projects/mine`);
  const problem = (await anonymous.json()) as { code?: string };
  check(
    anonymous.status === 401 && problem.code === "unauthenticated",
    "the guarded route refuses without a session: 401",
    problem,
  );

  const email = `builder-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = "purple submarine garden";
  const signUp = await post("/auth/v1/auth/sign-up", { email, password });
  check(signUp.status === 201, "sign-up: 201", signUp.status === 201 ? undefined : await signUp.text());

  const signIn = await post("/auth/v1/auth/sign-in", { email, password });
  const { sessionToken } = (await signIn.json()) as { sessionToken: string };
  check(signIn.status === 200 && sessionToken.startsWith("ses_"), "sign-in: 200 with a session token");
  const authorization = { authorization: `Bearer ${sessionToken}` };

  const mine = await fetch(`${origin}/projects/mine`, { headers: authorization });
  const owner = (await mine.json()) as { owner?: string };
  check(
    mine.status === 200 && owner.owner?.startsWith("usr_") === true,
    "the guarded route lets the session in: 200",
    owner,
  );

  const org = await post("/auth/v1/orgs", { name: "Acme" }, authorization);
  const { id: orgId } = (await org.json()) as { id: string };
  check(org.status === 201, "an organization is created through Burrow's API");
  const project = await fetch(`${origin}/orgs/${orgId}/projects`, { method: "POST", headers: authorization });
  check(project.status === 201, "requirePermission lets the owner write projects: 201");
  const catalogue = await (await fetch(`${origin}/auth/v1/permissions`, { headers: authorization })).text();
  check(catalogue.includes("projects:write"), "the builder's permission is in Burrow's catalogue");

  const docs = await fetch(`${origin}/auth/docs`);
  const css = /href="([^"]*swagger-ui\.css)"/.exec(await docs.text())?.[1];
  const cssFile = css === undefined ? undefined : await fetch(new URL(css, `${origin}/auth/docs`));
  check(docs.status === 200 && cssFile?.status === 200, "the API reference and its swagger-ui assets are served", css);

  for (const asset of ["admin.css", "passkey.js", "htmx.min.js"]) {
    const response = await fetch(`${console_.url.origin}/assets/${asset}`);
    const body = await response.text();
    check(
      response.status === 200 && body.length > 100,
      `the operator console serves /assets/${asset}`,
      response.status,
    );
  }

  // Node.js 20: @burrow/client signs in with tokens and @burrow/platform-auth/verify checks the
  // access token against the JWKS, both imported from node_modules by node itself.
  const node = Bun.spawn(["node", join(import.meta.dir, "node-smoke.mjs"), `${origin}/auth`, origin, email, password], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(node.stdout).text(),
    new Response(node.stderr).text(),
    node.exited,
  ]);
  check(code === 0, "node runs the client, the token verifier and the webhook verifier", { code, stdout, stderr });
  const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
    node?: string;
    me?: string;
    sub?: string;
    user?: string;
  };
  check(
    result.me === email && result.sub === result.user && result.node?.startsWith("20.") === true,
    "under node: signed in, /v1/me, token verified",
    result,
  );
} finally {
  await example?.burrow.close();
  server.stop(true);
  console_.stop(true);
  rmSync(dataDir, { recursive: true, force: true });
}
console.log("smoke: passed");
