// `bun run bench:session-cache`: the memory 100,000 cached sessions take on one node, beside the
// same process before the cache is filled. Each entry is a copy of a real validation (its own
// objects and strings, distinct ids and hashes), stored through the cache as validation stores it.
// On PostgreSQL with `DATABASE_URL` (a fresh database: it migrates it), else embedded PGlite, whose
// WebAssembly memory is part of the "before" figure. Not a test: it prints a table.
import { createDatabase, sha256, silentLogger } from "@burrow/platform-core";
import { composePlatform, createApp, listenForChanges } from "@burrow/platform-http";
import { inProcessConfig } from "./micro.ts";

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 100_000);

const config = inProcessConfig({ BURROW_SESSION_CACHE_MAX: String(ENTRIES) });
const database = await createDatabase({ databaseUrl: process.env.DATABASE_URL });
await database.migrate();
const platform = composePlatform({ config, database, log: silentLogger });
await listenForChanges(platform);
const signUp = await createApp(platform).request("/v1/auth/sign-up", {
  method: "POST",
  headers: { "content-type": "application/json", "x-burrow-client": "bearer" },
  body: JSON.stringify({
    email: "memory-bench@example.com",
    name: "Memory Bench",
    password: "purple submarine garden",
  }),
});
const { sessionToken } = (await signUp.json()) as { sessionToken: string };
const { session, user } = await platform.auth.sessions.validate(sessionToken);
if (session === null) throw new Error("the bench session did not validate");
const { cache } = platform.auth.sessions;

const used = () => {
  Bun.gc(true);
  const memory = process.memoryUsage();
  return { rss: memory.rss / 2 ** 20, heap: memory.heapUsed / 2 ** 20 };
};
const before = used();
for (let index = 0; index < ENTRIES; index++) {
  const suffix = index.toString(36).padStart(8, "0");
  cache.store(
    {
      session: {
        ...session,
        id: `ses_${suffix}${session.id.slice(12)}`,
        userId: `usr_${suffix}${session.userId.slice(12)}`,
        secretHash: sha256(suffix),
        createdAt: new Date(session.createdAt.getTime() + index),
        expiresAt: new Date(session.expiresAt.getTime() + index),
        lastActiveAt: new Date(session.lastActiveAt.getTime() + index),
        authenticatedAt: new Date(session.authenticatedAt.getTime() + index),
        authMethods: [...session.authMethods],
        userAgent: `${session.userAgent ?? "Mozilla/5.0"} ${suffix}`,
      },
      user: { ...user!, id: `usr_${suffix}${user!.id.slice(12)}` as typeof user.id, email: `${suffix}@example.com` },
    },
    cache.epoch(),
  );
}
const after = used();
console.log(`\nSession cache memory, ${cache.size} entries, Bun ${Bun.version}\n`);
console.log("| | RSS MiB | heap used MiB |");
console.log("|---|---:|---:|");
console.log(`| before filling | ${before.rss.toFixed(1)} | ${before.heap.toFixed(1)} |`);
console.log(`| with ${cache.size} cached sessions | ${after.rss.toFixed(1)} | ${after.heap.toFixed(1)} |`);
console.log(`| per entry | | ${(((after.heap - before.heap) * 2 ** 20) / cache.size / 1024).toFixed(2)} KiB |`);
await database.close();
