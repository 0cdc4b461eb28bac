import type { AccessTokens, PeekedSession, Sessions } from "@burrow/platform-auth";
import type { Config } from "@burrow/platform-core";
import { BEARER, handOver, identifySession, JWT } from "../authenticate/index.ts";
import { sessionCookie, sessionCookieIn } from "../cookies.ts";
import type { Edge } from "../edge/index.ts";

/** The route template of the session check (the log line's and the metrics' `route`). */
export const CURRENT_SESSION_ROUTE = "/v1/auth/session";

/** What the fast lane answers with: the routes' answer, or nothing (they answer), now or later. */
export type FastLane = (request: Request) => Response | Promise<Response | undefined> | undefined;

/**
 * The session check's fast lane, in front of the routes (`Burrow.fetch`): a plain
 * `GET /v1/auth/session` with a session cookie, a session token or an access token is answered
 * here, with what the route would send — the same JSON, the edge's same headers, log line and
 * metrics — without crossing the middleware chain: every app checks its session on every page.
 * What the caches hold is answered synchronously; anything else is validated as the routes validate
 * it (`identifySession`, which fills the cache on the way) and a live session answered. A refusal is
 * left to the routes to word, with what was learned here (`handOver`: the credential is not
 * validated twice). Anything else — a query, a body, an API key, another method or path — returns
 * undefined at once and takes the routes.
 */
export function sessionFastLane(options: {
  config: Config;
  edge: Edge;
  sessions: Sessions;
  accessTokens: AccessTokens;
}): FastLane {
  const { edge, sessions, accessTokens } = options;
  // `Burrow.fetch` serves the routes as they are defined, at the root (BURROW_BASE_PATH is where a
  // builder mounts them in an app of their own, whose routes answer the session check themselves).
  const path = CURRENT_SESSION_ROUTE;
  const cookieName = sessionCookie(options.config).name;

  function answer(
    request: Request,
    started: number,
    { userId, answerJson }: Omit<PeekedSession, "sessionId">,
  ): Response {
    const requestId = edge.requestId(request.headers.get("x-request-id"));
    const response = new Response(answerJson, {
      status: 200,
      headers: edge.jsonAnswerHeaders(path, request.headers.get("origin"), requestId),
    });
    edge.record({
      requestId,
      method: "GET",
      route: CURRENT_SESSION_ROUTE,
      status: 200,
      started,
      userId,
    });
    return response;
  }

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
    const peeked = JWT.test(credential) ? accessTokens.peek(credential) : sessions.peek(credential);
    if (peeked !== undefined) return answer(request, started, peeked);
    const via = authorization === null ? "cookie" : "bearer";
    const identified = identifySession({ sessions, accessTokens }, credential, via, { fresh: false });
    // A refusal, or a failure (the database down), is the routes' to answer, from this very outcome.
    const leave = () => {
      handOver(request, identified);
      return undefined;
    };
    return identified.then(
      (outcome) =>
        "caller" in outcome && outcome.caller.kind === "session"
          ? answer(request, started, {
              userId: outcome.caller.session.userId,
              answerJson: sessions.answerJson(outcome.caller),
            })
          : leave(),
      leave,
    );
  };
}
