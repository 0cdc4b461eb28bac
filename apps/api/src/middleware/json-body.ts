import { PlatformError } from "@burrow/platform-core";
import type { MiddlewareHandler } from "hono";

const WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

/**
 * For methods that carry a body: the body must be JSON (415 otherwise, with no exemption for
 * text/plain, which browsers may send cross-site without a preflight), no larger than the limit
 * (413, checked on the bytes actually read, not only on Content-Length), and well-formed (400).
 * The checked text is cached for the route's validator.
 */
export const jsonBody = (options: { maxBytes: number }): MiddlewareHandler =>
  async function jsonBody(c, next) {
    if (!WITH_BODY.has(c.req.method)) return next();
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > options.maxBytes) throw new PlatformError("payload_too_large");
    const raw = c.req.raw;
    if (raw.body === null) return next();
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength > options.maxBytes) throw new PlatformError("payload_too_large");
    if (bytes.byteLength === 0) return next();
    const type = c.req.header("content-type");
    if (type === undefined || !JSON_TYPE.test(type)) throw new PlatformError("unsupported_media_type");
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      JSON.parse(text);
    } catch {
      throw new PlatformError("malformed_json");
    }
    // Hono's `c.req.json()` (and so every route validator) reads the body through this cache.
    // (its type says string, but Hono stores and awaits a promise there).
    Object.assign(c.req.bodyCache, { text: Promise.resolve(text) });
    return next();
  };
