import type { Send } from "./tokens.ts";

/** Is this a browser page? There the browser keeps the cookie and says where requests come from. */
export const inBrowser = (): boolean => typeof document !== "undefined" && typeof location !== "undefined";

/**
 * Cookie authentication outside a browser (server-side rendering, scripts, tests): keeps the cookies
 * Burrow sets, in memory, and sends them back to Burrow only. It also sends `Origin`, because Burrow
 * refuses a cookie-authenticated change that does not say it is same-origin (its CSRF rule); a
 * browser adds that header itself and forbids scripts to set it.
 */
export function cookieJarSend(send: Send, origin: string): Send {
  const jar = new Map<string, string>();
  return async function sendWithCookies(request) {
    const withCookies = new Request(request);
    if (!withCookies.headers.has("origin")) withCookies.headers.set("origin", origin);
    if (jar.size > 0 && !withCookies.headers.has("cookie"))
      withCookies.headers.set("cookie", [...jar].map(([name, value]) => `${name}=${value}`).join("; "));
    const response = await send(withCookies);
    for (const header of response.headers.getSetCookie()) remember(jar, header);
    return response;
  };
}

/** Applies one Set-Cookie header: a value is kept, an expired or emptied cookie forgotten. */
function remember(jar: Map<string, string>, header: string): void {
  const [pair = "", ...attributes] = header.split(";");
  const separator = pair.indexOf("=");
  if (separator <= 0) return;
  const name = pair.slice(0, separator).trim();
  const value = pair.slice(separator + 1).trim();
  const expired = attributes.some((attribute) => {
    const [key = "", setting = ""] = attribute.split("=").map((part) => part.trim());
    if (key.toLowerCase() === "max-age") return Number(setting) <= 0;
    if (key.toLowerCase() === "expires") return Date.parse(setting) <= Date.now();
    return false;
  });
  if (expired || value === "") jar.delete(name);
  else jar.set(name, value);
}
