// The suite's baseline: raw Hono on Bun answering a constant JSON body, under the same load as
// every Burrow scenario in the same run. `PORT` sets the port.
import { Hono } from "hono";

const body = { user: { id: "usr_x" }, session: { id: "ses_x" } };
const app = new Hono().get("/v1/auth/session", (c) => c.json(body));
Bun.serve({ port: Number(process.env.PORT), hostname: "127.0.0.1", fetch: app.fetch });
