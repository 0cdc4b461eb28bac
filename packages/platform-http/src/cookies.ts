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

/** The session cookie's value in a `Cookie` header (as Hono's getCookie reads it). */
export function sessionCookieIn(header: string | null, name: string): string | undefined {
  return header ? parseCookies(header, name)[name] : undefined;
}

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
