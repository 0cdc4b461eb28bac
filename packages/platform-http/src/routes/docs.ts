import { dirname, join } from "node:path";
import { PlatformError } from "@burrow/platform-core";
import { Hono } from "hono";
import { type AppEnv } from "../env.ts";
import { CONTENT_SECURITY_POLICIES } from "../security-headers/index.ts";

/**
 * The interactive API reference: Swagger UI from the pinned `swagger-ui-dist` package, served from
 * our own origin, so /docs works offline and hands the page to no third party (docs/architecture.md).
 */
const SWAGGER_UI_DIR = dirname(require.resolve("swagger-ui-dist/package.json"));
const SWAGGER_UI_VERSION = (require("swagger-ui-dist/package.json") as { version: string }).version;
/** Versioned paths: a new swagger-ui-dist gets new URLs, so the assets can be cached for good. */
const ASSETS = `/docs/assets/${SWAGGER_UI_VERSION}`;
/** The page links relative to itself, so it works wherever the routes are mounted (BURROW_BASE_PATH). */
const PAGE_ASSETS = ASSETS.slice(1);

const FILES: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

// The CSP allows no inline script, so starting the viewer is a file of its own.
const START_SCRIPT = `window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.specUrl, domNode: root, deepLinking: true, validatorUrl: null });
});
`;

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Burrow API reference</title>
<link rel="icon" type="image/png" href="${PAGE_ASSETS}/favicon-32x32.png">
<link rel="stylesheet" href="${PAGE_ASSETS}/swagger-ui.css">
</head><body><div id="swagger-ui" data-spec-url="openapi.json"></div>
<script src="${PAGE_ASSETS}/swagger-ui-bundle.js"></script>
<script src="${PAGE_ASSETS}/start.js"></script>
</body></html>`;

export function docsRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .use("/docs", async (c, next) => {
      await next();
      c.header("Content-Security-Policy", CONTENT_SECURITY_POLICIES.docs);
    })
    .use("/docs/*", async (c, next) => {
      await next();
      c.header("Content-Security-Policy", CONTENT_SECURITY_POLICIES.docs);
    })
    .get("/docs", (c) => c.html(PAGE))
    .get(`${ASSETS}/start.js`, (c) =>
      c.body(START_SCRIPT, 200, {
        "Content-Type": "text/javascript; charset=utf-8",
        "Cache-Control": "public, max-age=31536000, immutable",
      }),
    )
    .get(`${ASSETS}/:file`, (c) => {
      const type = FILES[c.req.param("file")];
      // Only the listed files: never a path into node_modules chosen by the request.
      if (type === undefined) throw new PlatformError("not_found");
      // Read from disk on each request (the OS caches it) rather than held in memory by every process.
      return new Response(Bun.file(join(SWAGGER_UI_DIR, c.req.param("file"))), {
        headers: { "Content-Type": type, "Cache-Control": "public, max-age=31536000, immutable" },
      });
    });
}
