import type { AccessTokens, PublicUser, SessionRow, Sessions } from "@burrow/platform-auth";
import type { Config } from "@burrow/platform-core";
import { BEARER, JWT } from "../authenticate/index.ts";
import { sessionCookie, sessionCookieIn } from "../cookies.ts";
import type { Edge } from "../edge/index.ts";

/** The route template of the session check (the log line's and the metrics' `route`). */
export const CURRENT_SESSION_ROUTE = "/v1/auth/session";

/**
 * The answer to GET /v1/auth/session, as the route sends it; `userJson` when the user is at hand
 * as its JSON already (the session cache holds it so, and the fast lane answers from it): the
 * same bytes either way.
 */
export function currentSessionJson(
  caller: { session: SessionRow; user: PublicUser } | { session: SessionRow; userJson: string },
  sessions: Pick<Sessions, "toPublic">,
): string {
  const session = JSON.stringify(sessions.toPublic(caller.session, caller.session.id));
  return `{"user":${"userJson" in caller ? caller.userJson : JSON.stringify(caller.user)},"session":${session}}`;
}

/**
 * The session check's fast lane, in front of the routes (`Burrow.fetch`): a plain
 * `GET /v1/auth/session` whose credential (the session cookie, a session token or an access token)
 * is answered by the caches alone is answered here, synchronously, with what the route would send —
 * the same JSON, the edge's same headers, log line and metrics — without crossing the middleware
 * chain: every app checks its session on every page. Anything else, or anything the caches cannot
 * tell on their own (an unknown, revoked or expired session, one whose activity is due to be
 * written, a query, a body, an API key), returns undefined and takes the routes, which decide
 * as always.
 */
export function sessionFastLane(options: {
  config: Config;
  edge: Edge;
  sessions: Sessions;
  accessTokens: AccessTokens;
}): (request: Request) => Response | undefined {
  const { edge, sessions, accessTokens } = options;
  const path = `${options.config.basePath}${CURRENT_SESSION_ROUTE}`;
  const cookieName = sessionCookie(options.config).name;
  return (request) => {
    if (request.method !== "GET") return undefined;
    const started = performance.now();
    const url = request.url;
    // The path exactly (scheme://authority then the path), with no query.
    const pathAt = url.indexOf("/", url.indexOf("//") + 2);
    if (pathAt === -1 || url.length - pathAt !== path.length || !url.endsWith(path) || request.body !== null)
      return undefined;
    const headers = request.headers;
    if (headers.has("x-api-key")) return undefined;
    const authorization = headers.get("authorization");
    const credential =
      authorization === null ? sessionCookieIn(headers.get("cookie"), cookieName) : BEARER.exec(authorization)?.[1];
    if (credential === undefined || credential.startsWith("bk_")) return undefined;
    const caller = JWT.test(credential) ? accessTokens.peek(credential) : sessions.peek(credential);
    if (caller === undefined) return undefined;
    const requestId = edge.requestId(headers.get("x-request-id"));
    const response = new Response(currentSessionJson(caller, sessions), {
      status: 200,
      headers: edge.jsonAnswerHeaders(path, headers.get("origin"), requestId),
    });
    edge.record({
      requestId,
      method: "GET",
      route: CURRENT_SESSION_ROUTE,
      status: 200,
      started,
      userId: caller.session.userId,
    });
    return response;
  };
}
