// `bun run db:migrate`: applies the committed migration set to the configured database.
import { loadConfig } from "../config.ts";
import { createDatabase } from "./index.ts";

const config = loadConfig();
const handle = await createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
try {
  await handle.migrate();
  const status = await handle.migrationStatus();
  console.log(
    `migrations: ${status.applied} applied, ${status.expected} in the set, ${status.current ? "current" : "PENDING"}`,
  );
} finally {
  await handle.close();
}
