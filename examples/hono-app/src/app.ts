// A builder's own Hono app with Burrow inside it: Burrow's API and hosted pages under /auth, the
// builder's routes guarded by Burrow's sessions and permissions.
import { Hono } from "hono";
import { type AppEnv, type Burrow, type BurrowEnv, createBurrow } from "@burrow/platform-http";
import { createAdminApp } from "@burrow/admin";

export interface ExampleOptions {
  /** Where the embedded database lives (./.burrow when left out). */
  dataDir?: string;
  /** The origin users open (links in emails use it). */
  publicUrl?: string;
  /** Settings by environment variable; process.env when left out. */
  env?: Record<string, string | undefined>;
}

export interface ExampleApp {
  app: Hono<BurrowEnv>;
  /** The operator console, served on a port of its own (its own origin). */
  admin: Hono<AppEnv>;
  burrow: Burrow;
}

export async function createExampleApp(options: ExampleOptions = {}): Promise<ExampleApp> {
  const burrow = await createBurrow({
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    ...(options.publicUrl === undefined ? {} : { publicUrl: options.publicUrl }),
    ...(options.env === undefined ? {} : { env: options.env }),
    basePath: "/auth",
    permissions: { "projects:write": "Create and edit projects" },
  });

  const app = new Hono<BurrowEnv>();
  burrow.mount(app);

  app.get("/", (c) => c.text("Hello from a Hono app with Burrow under /auth."));
  app.use("/projects/*", burrow.requireSession());
  app.get("/projects/mine", (c) => c.json({ owner: c.get("burrow").user.id }));
  app.post(
    "/orgs/:orgId/projects",
    burrow.requirePermission("projects:write", { org: (c) => c.req.param("orgId") }),
    (c) => c.json({ created: true, by: c.get("burrow").user.id }, 201),
  );
  return { app, admin: createAdminApp(burrow.platform), burrow };
}
