// Builds the public packages and packs each into a tarball an outside project can install:
//   bun run scripts/pack-packages.ts [<tarball folder>]     (dist/tarballs by default)
//
// The workspace keeps developing on sources (exports point at src/*.ts, dependencies at workspace:*).
// A tarball holds the built form instead: ESM JavaScript and declarations from one `tsc` run over
// every package (tsconfig.build.json), the runtime files the code reads beside itself, and a
// package.json written for it — exports to dist/, workspace:* turned into a real version range, no
// `private`, and without the test helpers (`./testing`, `./browser`), whose dependencies are dev-only.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const outDir = resolve(process.argv[2] ?? join(root, "dist/tarballs"));
const buildDir = join(root, "dist/build");
const stageDir = join(root, "dist/packages");

interface PublicPackage {
  /** Folder in this repository. */
  dir: string;
  /** Folders or files (relative to the package) copied as they are into the tarball. */
  assets?: { from: string; to: string }[];
  description: string;
}

/** Every package a builder installs; `apps/api` stays an application (`bun start`, the `burrow` CLI). */
export const PUBLIC_PACKAGES: PublicPackage[] = [
  {
    dir: "packages/platform-core",
    // The one migration set lives at the repository's root (drizzle-kit writes it there); the packed
    // package carries a copy, found by DEFAULT_MIGRATIONS_FOLDER beside dist/.
    assets: [{ from: "../../migrations", to: "migrations" }],
    description: "Burrow's foundation: IDs, errors, crypto, config, database and migrations, audit log, jobs",
  },
  { dir: "packages/platform-email", description: "Burrow's email: templates, rendering, outbox, SMTP and dev mailbox" },
  {
    dir: "packages/platform-auth",
    description: "Burrow's accounts: users, passwords, sessions, MFA, passkeys, tokens, API keys",
  },
  { dir: "packages/platform-rbac", description: "Burrow's organizations, roles, permissions and Hono guards" },
  { dir: "packages/platform-ops", description: "Burrow's operations: audit search and export, overview, metrics" },
  {
    dir: "packages/platform-http",
    description: "Burrow's HTTP edge and createBurrow, the composition a Hono app mounts",
  },
  { dir: "packages/client", description: "The typed Burrow client for browsers, Node.js and Bun" },
  {
    dir: "apps/admin",
    assets: [{ from: "src/assets", to: "dist/assets" }],
    description: "Burrow's operator console (server-rendered Hono app) for mounting beside createBurrow",
  },
];

/** Workspace exports that are test helpers: left out of the tarballs. */
const TEST_ONLY_EXPORTS = new Set(["./testing", "./browser"]);

interface Manifest {
  name: string;
  version: string;
  exports: Record<string, string>;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

const readManifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")) as Manifest;

function run(command: string[], cwd = root): string {
  const result = Bun.spawnSync(command, { cwd, stdout: "pipe", stderr: "pipe" });
  const output = result.stdout.toString() + result.stderr.toString();
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} failed (${result.exitCode}):\n${output}`);
  return output;
}

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

/** `./src/tokens/verify.ts` → `{ types: ./dist/tokens/verify.d.ts, default: ./dist/tokens/verify.js }`. */
function builtEntry(source: string): { types: string; default: string } {
  const match = /^\.\/src\/(.+)\.tsx?$/.exec(source);
  if (match === null) throw new Error(`export ${source} is not a file under ./src`);
  return { types: `./dist/${match[1]}.d.ts`, default: `./dist/${match[1]}.js` };
}

/** The bare module names a built file imports (static, dynamic and require), without subpaths. */
function importedPackages(code: string): string[] {
  const transpiler = new Bun.Transpiler({ loader: "js" });
  return transpiler
    .scanImports(code)
    .map((entry) => entry.path)
    .filter((path) => !path.startsWith(".") && !path.startsWith("node:") && !path.startsWith("bun:"))
    .filter((path) => path !== "bun" && !builtinModules.includes(path))
    .map((path) => (path.startsWith("@") ? path.split("/").slice(0, 2).join("/") : path.split("/")[0]!));
}

const manifests = new Map(PUBLIC_PACKAGES.map((pkg) => [pkg.dir, readManifest(pkg.dir)]));
const versions = new Map([...manifests.values()].map((manifest) => [manifest.name, manifest.version]));

rmSync(buildDir, { recursive: true, force: true });
rmSync(stageDir, { recursive: true, force: true });
console.log("building: tsc -p tsconfig.build.json");
run([join(root, "node_modules/.bin/tsc"), "-p", "tsconfig.build.json"]);
mkdirSync(outDir, { recursive: true });

for (const pkg of PUBLIC_PACKAGES) {
  const manifest = manifests.get(pkg.dir)!;
  const stage = join(stageDir, manifest.name.replace("@burrow/", ""));
  const dist = join(stage, "dist");
  const built = join(buildDir, pkg.dir, "src");
  if (!existsSync(built)) throw new Error(`tsc wrote nothing for ${pkg.dir}`);
  cpSync(built, dist, { recursive: true });
  // Hand-written and generated declarations (the client's schema.d.ts) are not emitted by tsc.
  for (const file of files(join(root, pkg.dir, "src")))
    if (file.endsWith(".d.ts")) cpSync(file, join(dist, relative(join(root, pkg.dir, "src"), file)));
  for (const asset of pkg.assets ?? [])
    cpSync(join(root, pkg.dir, asset.from), join(stage, asset.to), { recursive: true });

  // The workspace pins exact versions (the lockfile decides); a library's tarball asks for a range
  // from the tested version up, so a builder's own hono or zod is shared rather than duplicated.
  const dependencies: Record<string, string> = {};
  for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
    const version = range.startsWith("workspace:") ? versions.get(name) : range;
    if (version === undefined) throw new Error(`${manifest.name} depends on ${name}, which is not packed`);
    if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`${manifest.name}: ${name}@${range} is not an exact version`);
    dependencies[name] = `^${version}`;
  }

  // Every package the built code imports must be a dependency of the tarball: a missing one works in
  // this workspace (one hoisted node_modules) and breaks in a builder's project.
  const missing = new Set<string>();
  for (const file of files(dist))
    if (file.endsWith(".js"))
      for (const name of importedPackages(readFileSync(file, "utf8")))
        if (name !== manifest.name && dependencies[name] === undefined)
          missing.add(`${name} (${relative(stage, file)})`);
  if (missing.size > 0) throw new Error(`${manifest.name} imports undeclared packages: ${[...missing].join(", ")}`);

  const exports = Object.fromEntries(
    Object.entries(manifest.exports)
      .filter(([subpath]) => !TEST_ONLY_EXPORTS.has(subpath))
      .map(([subpath, source]) => [subpath, builtEntry(source)]),
  );
  const packed = {
    name: manifest.name,
    version: manifest.version,
    description: pkg.description,
    type: "module",
    exports,
    types: exports["."]?.types,
    dependencies,
  };
  writeFileSync(join(stage, "package.json"), `${JSON.stringify(packed, null, 2)}\n`);
  for (const entry of Object.values(exports))
    for (const path of [entry.types, entry.default])
      if (!existsSync(join(stage, path))) throw new Error(`${manifest.name}: ${path} is exported but was not built`);

  const tarball = run(["bun", "pm", "pack", "--quiet", "--destination", outDir], stage).trim().split("\n").at(-1);
  console.log(`packed ${manifest.name}@${manifest.version}: ${tarball}`);
}
console.log(`tarballs in ${outDir}`);
