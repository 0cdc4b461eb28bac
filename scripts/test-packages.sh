#!/usr/bin/env bash
# Proves the packages stand on their own: builds and packs every public package, makes a fresh
# project outside the repository from examples/hono-app, installs only the tarballs (and the npm
# registry for their dependencies), typechecks it against the packed declarations and runs its smoke
# (Bun, embedded PostgreSQL in a temporary folder, plus @burrow/client and the token verifier under
# Node.js). Exits non-zero on any failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/burrow-packages-XXXXXX")
trap 'rm -rf "$work"' EXIT
case "$work/" in "$repo"/*) echo "test-packages: $work is inside the repository" >&2; exit 1 ;; esac

bun run "$repo/scripts/pack-packages.ts" "$work/tarballs"

mkdir "$work/app"
(cd "$repo/examples/hono-app" && tar cf - --exclude=node_modules --exclude=.burrow .) | (cd "$work/app" && tar xf -)
# Every @burrow/* package comes from its tarball: the example's direct dependencies, and through
# overrides the ranges the packages ask of each other, so nothing named @burrow is fetched from a registry.
bun -e '
  const [manifestPath, tarballs] = process.argv.slice(1);
  const manifest = await Bun.file(manifestPath).json();
  const files = {};
  for (const name of new Bun.Glob("*.tgz").scanSync(tarballs)) {
    files[name.replace(/^burrow-(.+)-\d+\.\d+\.\d+\.tgz$/, "@burrow/$1")] = `file:${tarballs}/${name}`;
  }
  for (const name of Object.keys(manifest.dependencies))
    if (name.startsWith("@burrow/")) {
      if (files[name] === undefined) throw new Error(`no tarball for ${name}`);
      manifest.dependencies[name] = files[name];
    }
  manifest.overrides = files;
  await Bun.write(manifestPath, JSON.stringify(manifest, null, 2));
' "$work/app/package.json" "$work/tarballs"

cd "$work/app"
echo "installing in $work/app:"
bun install
nested=$(find node_modules -mindepth 2 -type d -path '*/node_modules/@burrow' || true)
[ -z "$nested" ] || { echo "test-packages: a second copy of @burrow packages was installed: $nested" >&2; exit 1; }
[ "$(ls node_modules/@burrow | wc -l)" -eq "$(ls "$work/tarballs" | wc -l)" ] || { echo "test-packages: not every tarball was installed" >&2; exit 1; }
for name in $(ls node_modules/@burrow); do
  [ -L "node_modules/@burrow/$name" ] && { echo "test-packages: @burrow/$name is a link, not an installed tarball" >&2; exit 1; }
  grep -q '"workspace:' "node_modules/@burrow/$name/package.json" && { echo "test-packages: @burrow/$name still names workspace:" >&2; exit 1; }
done
echo "typecheck against the packed declarations:"
bun run typecheck
# The example skips library checks (drizzle-orm's declarations need drivers it does not use); ours
# are checked here on their own: no error may point into an @burrow package.
lib_errors=$(./node_modules/.bin/tsc --noEmit -p tsconfig.json --skipLibCheck false || true)
if grep 'node_modules/@burrow/' <<<"$lib_errors"; then
  echo "test-packages: the packed declarations have type errors" >&2
  exit 1
fi
bun run smoke
