// The console's own cookies: the admin session (audience "admin": 30 idle minutes, 12 hours) and
// the CSRF token every form carries. Both are HttpOnly and SameSite=Strict, and over https take the
// __Host- prefix, which pins them to the console's exact origin.
import { constantTimeEqual, hmacSha256, type Config } from "@burrow/platform-core";
import { ADMIN_SESSION_LIFETIMES } from "@burrow/platform-auth";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";

const secure = (config: Config) => config.adminUrl.startsWith("https:");
const name = (config: Config, base: string) => (secure(config) ? `__Host-${base}` : base);
const attributes = (config: Config) =>
  ({ httpOnly: true, secure: secure(config), sameSite: "Strict", path: "/" }) as const;

export const readAdminSession = (c: Context, config: Config) => getCookie(c, name(config, "burrow_admin"));

export function writeAdminSession(c: Context, config: Config, token: string): void {
  setCookie(c, name(config, "burrow_admin"), token, {
    ...attributes(config),
    maxAge: Math.floor(ADMIN_SESSION_LIFETIMES.absoluteLifetimeMs / 1000),
  });
}

export const clearAdminSession = (c: Context, config: Config) =>
  deleteCookie(c, name(config, "burrow_admin"), attributes(config));

/**
 * The CSRF token of a browser: a random value in its own cookie, and in every form an HMAC of it,
 * which a page on another site can neither read nor compute. (The Origin check comes first.)
 */
export function csrfToken(c: Context, config: Config): string {
  let value = getCookie(c, name(config, "burrow_admin_csrf"));
  if (value === undefined || !/^[A-Za-z0-9_-]{43}$/.test(value)) {
    value = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
    setCookie(c, name(config, "burrow_admin_csrf"), value, attributes(config));
  }
  return hmacSha256(config.secret, `admin-csrf:${value}`);
}

export function csrfTokenValid(c: Context, config: Config, presented: string): boolean {
  const value = getCookie(c, name(config, "burrow_admin_csrf"));
  if (value === undefined) return false;
  return constantTimeEqual(presented, hmacSha256(config.secret, `admin-csrf:${value}`));
}
