import type { Config } from "@burrow/platform-core";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";

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
  return getCookie(c, sessionCookie(config).name);
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
