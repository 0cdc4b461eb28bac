import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBurrow, type RunningBurrow } from "./burrow.ts";

// The client must run on Node.js 20 with nothing Bun-specific: bundle it for Node (into a temporary
// folder, never committed) and let `node` use it against a real Burrow.
let burrow: RunningBurrow;
let folder: string;

beforeAll(async () => {
  burrow = await startBurrow();
  folder = await mkdtemp(join(tmpdir(), "burrow-client-node-"));
});
afterAll(async () => {
  await burrow?.close();
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
});

const SMOKE = `
import { createBurrowClient, isBurrowError, unwrap } from "./index.js";
const [baseUrl, email] = process.argv.slice(2);
const password = "purple submarine garden";
const tokens = createBurrowClient({ baseUrl, mode: "token" });
const signedUp = await tokens.signUp({ email, password });
const me = unwrap(await tokens.api.GET("/v1/me"));
const wrong = await tokens.signIn({ email, password: "not the password" }).catch((error) => error);
// Cookie mode outside a browser: the cookie kept in memory, Origin sent for the CSRF rule.
const cookies = createBurrowClient({ baseUrl, mode: "cookie" });
await cookies.signIn({ email, password });
const renamed = unwrap(await cookies.api.PATCH("/v1/me", { body: { name: "Node" } }));
await cookies.signOut();
await tokens.signOut();
console.log(JSON.stringify({
  node: process.versions.node,
  status: signedUp.status,
  me: me.email,
  wrong: isBurrowError(wrong, "invalid_credentials"),
  renamed: renamed.name,
  afterSignOut: [await cookies.getSession(), await tokens.getSession()],
}));
`;

test("the client bundled for Node.js signs up, calls, fails typed and signs out under node", async () => {
  const bundle = await Bun.build({
    entrypoints: [`${import.meta.dir}/../src/index.ts`],
    target: "node",
    format: "esm",
    outdir: folder,
    naming: "index.js",
  });
  if (!bundle.success) throw new AggregateError(bundle.logs, "the client did not bundle for Node.js");
  await writeFile(join(folder, "smoke.mjs"), SMOKE);
  const email = `node-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const child = Bun.spawn(["node", join(folder, "smoke.mjs"), burrow.baseUrl, email], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (code !== 0) throw new Error(`node exited with ${code}: ${stderr}`);
  const outcome = JSON.parse(stdout) as { node: string };
  expect(Number(outcome.node.split(".")[0])).toBeGreaterThanOrEqual(20);
  expect(outcome).toMatchObject({
    status: "signed_in",
    me: email,
    wrong: true,
    renamed: "Node",
    afterSignOut: [null, null],
  });
});
