import { PlatformError, type Config } from "@burrow/platform-core";

/**
 * Links in emails are built from the configured public URL only — never from a request's Host or
 * X-Forwarded-Host, which an attacker can set to have a victim's token mailed to their own site.
 */
export function buildLink(config: Config, path: string, params: Record<string, string>): string {
  const url = new URL(config.basePath + path, config.publicUrl);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

/**
 * A `redirectTo` must be an absolute http(s) URL on an allowed origin (PUBLIC_URL's, plus
 * BURROW_REDIRECT_ORIGINS), or a path on PUBLIC_URL. Anything else is 400 `invalid_redirect`.
 */
export function checkRedirect(config: Config, redirectTo: string | undefined): string | undefined {
  if (redirectTo === undefined) return undefined;
  let url: URL;
  try {
    // Protocol-relative ("//evil.example") and backslash tricks resolve off-origin and are refused below.
    url = new URL(redirectTo, config.publicUrl);
  } catch {
    throw new PlatformError("invalid_redirect");
  }
  if (
    (url.protocol !== "https:" && url.protocol !== "http:") ||
    !config.redirectOrigins.includes(url.origin) ||
    url.username !== "" ||
    url.password !== ""
  ) {
    throw new PlatformError("invalid_redirect");
  }
  return url.toString();
}
