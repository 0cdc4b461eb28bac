// Run by createDatabase in a child process: creates the embedded cluster and applies the migrations,
// so the set-up's memory goes back to the system when this process ends.
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { pgliteOptions } from "./index.ts";

const [pgliteDir, migrationsFolder] = process.argv.slice(2);
if (pgliteDir === undefined || migrationsFolder === undefined)
  throw new Error("usage: pglite-setup.ts <pgdata dir> <migrations folder>");
const client = await PGlite.create({
  dataDir: pgliteDir,
  ...(await pgliteOptions()),
});
try {
  await migrate(drizzle(client), { migrationsFolder });
} finally {
  await client.close();
}
