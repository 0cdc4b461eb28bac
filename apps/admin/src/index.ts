// @burrow/admin: the operator's console, mounted by `bun start` beside the API (one process, as the
// embedded database serves one), or by a builder's own server.
export { ADMIN_CSP, createAdminApp } from "./app.tsx";
