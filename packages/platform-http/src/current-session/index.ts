import type { AccessTokens, PublicUser, SessionRow, Sessions } from "@burrow/platform-auth";
import type { Config } from "@burrow/platform-core";
import { BEARER, JWT } from "../authenticate/index.ts";
import { sessionCookie, sessionCookieIn } from "../cookies.ts";
import type { Edge } from "../edge/index.ts";

/** The route template of the session check (the log line's and the metrics' `route`). */
export const CURRENT_SESSION_ROUTE = "/v1/auth/session";

const answers = new WeakMap<SessionRow, { user: PublicUser; lastActiveMs: number; json: string }>();

/**
 * The answer to GET /v1/auth/session, serialized once per session row object: a cached session is
 * one object across requests (every app checks it on every page), so its ten dates are not written
 * out again each time. Written again when its activity time moves (the one field changed in place);
 * any other change evicts the cache entry, and the next read is a new object.
 */
export function currentSessionJson(
  caller: { session: SessionRow; user: PublicUser },
  sessions: Pick<Sessions, "toPublic">,
): string {
  const { session, user } = caller;
  const held = answers.get(session);
  if (held !== undefined && held.user === user && held.lastActiveMs === session.lastActiveAt.getTime())
    return held.json;
  const json = JSON.stringify({ user, session: sessions.toPublic(session, session.id) });
  answers.set(session, { user, lastActiveMs: session.lastActiveAt.getTime(), json });
  return json;
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
    if (caller?.session == null) return undefined;
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
      userId: caller.user.id,
    });
    return response;
  };
}
