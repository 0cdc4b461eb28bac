// The console's scripts: only what a page needs, served from the console's own origin (never a CDN),
// allowed by `script-src 'self'` on just the pages that load them. Nothing here is committed as
// build output: the passkey script is bundled by Bun.build on its first request and kept in memory.
import { readFileSync } from "node:fs";
import { extname, join } from "node:path";

/**
 * The policy of a page that loads one of the console's scripts: the console's policy with its own
 * scripts added — still no inline script, no eval, and no framing. A passkey ceremony requests
 * nothing itself (its answer posts as a form); htmx requests the console's own pages.
 */
export const withScripts = (policy: string, options: { requests?: "none" | "self" } = {}): string =>
  `${policy}; script-src 'self'${options.requests === "self" ? "; connect-src 'self'" : ""}`;

let passkeyBundle: Promise<string> | undefined;

/** The passkey ceremony (src/client/passkey.ts with @simplewebauthn/browser), bundled once per process. */
export function passkeyScript(): Promise<string> {
  passkeyBundle ??= Bun.build({
    // client/passkey.ts here, client/passkey.js in the built package: the same extension as this file.
    entrypoints: [join(import.meta.dir, `client/passkey${extname(import.meta.path)}`)],
    target: "browser",
    format: "esm",
    minify: true,
  }).then(async (result) => {
    const [output] = result.outputs;
    if (!result.success || output === undefined)
      throw new Error(`bundling the passkey script failed: ${result.logs.join("; ")}`);
    return output.text();
  });
  // A failed build is tried again on the next request rather than cached.
  passkeyBundle.catch(() => {
    passkeyBundle = undefined;
  });
  return passkeyBundle;
}

let htmxFile: string | undefined;

/** htmx (the exact version in package.json), read from node_modules once: the console serves it itself. */
export function htmxScript(): string {
  htmxFile ??= readFileSync(Bun.resolveSync("htmx.org/dist/htmx.min.js", import.meta.dir), "utf8");
  return htmxFile;
}
