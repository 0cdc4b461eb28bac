import { PlatformError } from "@burrow/platform-core";
import type { MiddlewareHandler } from "hono";

const WITH_BODY = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** C0 controls but tab, line feed and carriage return, and DEL: no text a person types has them. */
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/**
 * The path of the first string (value or key) holding a control character, if any. PostgreSQL
 * refuses NUL in text, so letting one through would fail deep in a query instead of at the edge.
 */
export function controlCharacterAt(value: unknown, path: string): string | undefined {
  if (typeof value === "string") return CONTROL.test(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const found = controlCharacterAt(value[index], path === "" ? String(index) : `${path}.${index}`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const at = path === "" ? key : `${path}.${key}`;
      if (CONTROL.test(key)) return at;
      const found = controlCharacterAt(item, at);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
/**
 * Refuses (400 `validation_failed`) query parameters or form fields whose names or values hold a
 * control character; the console's forms and query strings go through it too.
 */
export function refuseControlCharacters(pairs: Iterable<[string, string]>): void {
  for (const [name, value] of pairs) {
    if (CONTROL.test(name) || CONTROL.test(value))
      throw new PlatformError("validation_failed", {
        errors: [{ path: name, message: "Control characters (such as NUL) are not allowed in text" }],
      });
  }
}

const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

/**
 * How deep a body's arrays and objects may nest. Burrow's own bodies are a few levels deep (a
 * passkey's answer, free-form metadata); a deeper one is refused before anything walks it, so no
 * recursive step (the control-character scan, the route's schema, jsonb in PostgreSQL) meets it.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * True when the JSON text nests arrays and objects deeper than `max`. A loop over the characters
 * (brackets inside strings do not count), not a recursion: the depth it measures is the attacker's.
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c)
        index++; // a backslash escapes the next character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) {
      if (++depth > max) return true;
    } else if (char === 0x5d || char === 0x7d) depth--;
  }
  return false;
}

/**
 * For methods that carry a body: the body must be JSON (415 otherwise, with no exemption for
 * text/plain, which browsers may send cross-site without a preflight), no larger than the limit
 * (413, checked on the bytes actually read, not only on Content-Length), well-formed (400
 * `malformed_json`) and nested no deeper than MAX_JSON_DEPTH (400 `validation_failed`), also on
 * routes that take no body. The checked text is cached for the route's validator. Query strings and every string in the body
 * are refused (400) when they hold control characters.
 */
export const jsonBody = (options: { maxBytes: number }): MiddlewareHandler => {
  // A request without a body passes straight through, without a promise of its own.
  const read: MiddlewareHandler = async (c, next) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength > options.maxBytes) throw new PlatformError("payload_too_large");
    if (bytes.byteLength === 0) return next();
    const type = c.req.header("content-type");
    if (type === undefined || !JSON_TYPE.test(type)) throw new PlatformError("unsupported_media_type");
    let text: string;
    let parsed: unknown;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      parsed = JSON.parse(text);
    } catch {
      throw new PlatformError("malformed_json");
    }
    if (nestedDeeperThan(text, MAX_JSON_DEPTH))
      throw new PlatformError("validation_failed", {
        detail: `The JSON body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels.`,
        errors: [{ path: "(body)", message: `Nested deeper than ${MAX_JSON_DEPTH} levels` }],
      });
    const found = controlCharacterAt(parsed, "");
    if (found !== undefined)
      throw new PlatformError("validation_failed", {
        errors: [{ path: found || "(body)", message: "Control characters (such as NUL) are not allowed in text" }],
      });
    // Hono's `c.req.json()` (and so every route validator) reads the body through this cache.
    // (its type says string, but Hono stores and awaits a promise there).
    Object.assign(c.req.bodyCache, { text: Promise.resolve(text) });
    return next();
  };
  return function jsonBody(c, next) {
    // Parsed only when there is a query: most requests have none.
    if (c.req.url.includes("?")) refuseControlCharacters(new URL(c.req.url).searchParams);
    if (!WITH_BODY.has(c.req.method)) return next();
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > options.maxBytes) throw new PlatformError("payload_too_large");
    if (c.req.raw.body === null) return next();
    return read(c, next);
  };
};
