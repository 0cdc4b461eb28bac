// `bun run openapi:print`: writes the API's OpenAPI document to standard output, for generators
// (the typed client's types are made from it). Composes the routes over an empty in-memory database:
// the document depends on the routes only, never on data.
import { createDatabase, loadConfig, silentLogger } from "@burrow/platform-core";
import { composePlatform } from "@burrow/platform-http";
import { createApp } from "@burrow/platform-http";

const database = await createDatabase();
try {
  const config = loadConfig({ NODE_ENV: "development", BURROW_DATA_DIR: "/nonexistent-openapi-print" });
  const app = createApp(composePlatform({ config, database, log: silentLogger }));
  const document = await (await app.request("/openapi.json")).json();
  process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
} finally {
  await database.close();
}
