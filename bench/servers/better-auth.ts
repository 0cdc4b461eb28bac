// The suite's peer: Better Auth in its default configuration (email and password turned on, as its
// get-started guide does), on the same PostgreSQL as Burrow (its own fresh database), mounted on Hono
// on Bun. `bun run bench/servers/better-auth.ts migrate` creates its tables through its migration
// API; without an argument it serves on PORT. Env: DATABASE_URL, PORT, BETTER_AUTH_SECRET.
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { Hono } from "hono";
import { Pool } from "pg";

const port = Number(process.env.PORT ?? 0);
const options = {
  database: new Pool({ connectionString: process.env.DATABASE_URL }),
  secret: process.env.BETTER_AUTH_SECRET,
  baseURL: `http://127.0.0.1:${port}`,
  emailAndPassword: { enabled: true },
};

if (process.argv[2] === "migrate") {
  const { runMigrations } = await getMigrations(options);
  await runMigrations();
  await options.database.end();
} else {
  const auth = betterAuth(options);
  const app = new Hono();
  app.on(["GET", "POST"], "/api/auth/*", (c) => auth.handler(c.req.raw));
  Bun.serve({ port, hostname: "127.0.0.1", fetch: app.fetch });
}
