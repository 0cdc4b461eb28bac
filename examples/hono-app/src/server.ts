// bun run start: the example on PORT (3000) and the operator console on ADMIN_PORT (3001), with the
// embedded database in ./.burrow.
import { createExampleApp } from "./app.ts";

const { app, admin } = await createExampleApp();
const server = Bun.serve({ port: Number(process.env.PORT ?? 3000), fetch: app.fetch });
const console_ = Bun.serve({
  port: Number(process.env.ADMIN_PORT ?? 3001),
  fetch: (request, bunServer) => admin.fetch(request, { server: bunServer }),
});
console.log(`example on ${server.url}, Burrow under ${new URL("auth/", server.url)}, console on ${console_.url}`);
