// @burrow/platform-http: the HTTP edge that apps/api, apps/admin and a builder's Hono app share —
// one folder per middleware, and the one composition of the platform packages.
export * from "./env.ts";
export * from "./cookies.ts";
export * from "./authenticate/index.ts";
export * from "./csrf/index.ts";
export * from "./ip-rate-limit/index.ts";
export * from "./json-body/index.ts";
export * from "./problems/index.ts";
export * from "./request-context/index.ts";
export * from "./security-headers/index.ts";
export * from "./edge/index.ts";
export * from "./request-log/index.ts";
export * from "./compose/platform.ts";
export * from "./app.ts";
export * from "./burrow.ts";
export * from "./compose/hooks.ts";
export * from "./current-session/index.ts";
