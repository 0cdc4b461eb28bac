import { defineConfig } from "drizzle-kit";

// One migration set for every package: each package owns its tables in src/schema.ts.
export default defineConfig({
  dialect: "postgresql",
  schema: "./packages/*/src/schema.ts",
  out: "./migrations",
  strict: true,
  verbose: false,
});
