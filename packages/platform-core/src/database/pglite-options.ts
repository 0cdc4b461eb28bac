// What every embedded cluster opens with. A module of its own, so that the memory benchmark's PGlite
// baseline (bench/memory.ts) opens PGlite exactly as Burrow does without loading the rest of the platform.
import { fileURLToPath } from "node:url";
import type { Extension, PGliteOptions } from "@electric-sql/pglite";

/**
 * Embedded PGlite serves one process over one connection, and WebAssembly memory never shrinks: every
 * page Postgres once touched stays resident. Postgres's default 128 MB of shared buffers was most of
 * the idle server's memory (docs/benchmarks.md); 4 MB (512 pages) holds this schema's hot pages many times over,
 * and the one backend needs no room for 100 connections' lock tables and process slots.
 */
export const PGLITE_SETTINGS = ["shared_buffers=4MB", "max_connections=10"];

/**
 * The settings above, the extensions the migrations create (pg_trgm, for the users search) and PGlite's
 * file system bundle, each loaded so that the process keeps as little resident as it needs.
 */
export async function pgliteOptions(): Promise<
  Required<Pick<PGliteOptions, "startParams" | "extensions" | "fsBundle">>
> {
  const [{ PGlite }, { pg_trgm }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("@electric-sql/pglite/contrib/pg_trgm"),
  ]);
  return {
    startParams: [...PGlite.defaultStartParams, ...PGLITE_SETTINGS.flatMap((setting) => ["-c", setting])],
    extensions: { pg_trgm: linkedOnFirstUse(pg_trgm) },
    fsBundle: mappedFsBundle(),
  };
}

/**
 * The extension as PGlite ships it, except that its library is not compiled and linked at start-up
 * (`noWasmDecoding`): Postgres opens it itself the first time one of its functions or indexes is used,
 * so a process that never searches users does not hold it (about 2 MiB; the first use takes ~10 ms more).
 */
function linkedOnFirstUse(extension: Extension): Extension {
  return {
    name: extension.name,
    setup: async (pg, emscriptenOpts, clientOnly) => ({
      ...(await extension.setup(pg, emscriptenOpts, clientOnly)),
      emscriptenOpts: { ...emscriptenOpts, noWasmDecoding: true },
    }),
  };
}

/**
 * PGlite's file system bundle (`pglite.data`: Postgres's share files, time zones, ICU data; 6 MB) mapped
 * from its file instead of read into memory: PGlite's in-memory file system keeps slices of it for the
 * life of the database, and mapped, only the pages Postgres reads are resident (about 130 kB idle, where
 * a copy read into memory is all 6 MB). PGlite only calls `arrayBuffer()` on it. The mapping is
 * private (copy-on-write), so nothing is ever written to the file, and each database gets its own.
 */
function mappedFsBundle(): Blob {
  const path = fileURLToPath(new URL("./pglite.data", import.meta.resolve("@electric-sql/pglite")));
  return { arrayBuffer: async () => Bun.mmap(path, { shared: false }).buffer } as Blob;
}
