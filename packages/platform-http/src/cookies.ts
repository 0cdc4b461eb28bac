import type { Config } from "@burrow/platform-core";
import type { Context } from "hono";
import { parse as parseCookies } from "hono/utils/cookie";
import { deleteCookie, setCookie } from "hono/cookie";

/**
 * The session cookie. Over https it is `__Host-burrow_session` with `Secure` (the prefix pins it to
 * this exact host and path `/`, so a sibling subdomain cannot plant or shadow it). On plain-http
 * development origins the prefix and `Secure` are dropped, as browsers would refuse them.
 */
export function sessionCookie(config: Config): { name: string; secure: boolean } {
  const secure = config.publicUrl.startsWith("https:");
  return { name: secure ? "__Host-burrow_session" : "burrow_session", secure };
}

export function readSessionCookie(c: Context, config: Config): string | undefined {
  return sessionCookieIn(c.req.raw.headers.get("Cookie"), sessionCookie(config).name);
}

/**
 * The session cookie's value in a `Cookie` header (as Hono's getCookie reads it). A header that is
 * the one cookie, with a value of plain token characters, is read without parsing (a session check
 * by cookie on every request of an app): Hono would give the same value.
 */
export function sessionCookieIn(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  if (header.startsWith(name) && header.charCodeAt(name.length) === 61 /* = */) {
    const value = header.slice(name.length + 1);
    if (PLAIN_VALUE.test(value)) return value;
  }
  return parseCookies(header, name)[name];
}
/** Characters that Hono's parse neither trims, unquotes nor decodes, and that end no cookie. */
const PLAIN_VALUE = /^[\w.~-]+$/;

export function writeSessionCookie(c: Context, config: Config, token: string): void {
  const { name, secure } = sessionCookie(config);
  setCookie(c, name, token, {
    httpOnly: true,
    secure,
    sameSite: "Lax",
    path: "/",
    maxAge: Math.floor(config.session.absoluteLifetimeMs / 1000),
  });
}

export function clearSessionCookie(c: Context, config: Config): void {
  const { name, secure } = sessionCookie(config);
  deleteCookie(c, name, { path: "/", secure, httpOnly: true, sameSite: "Lax" });
}
