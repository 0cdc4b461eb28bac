import { PlatformError, type Config } from "@burrow/platform-core";
import {
  scopeCovers,
  type AccessTokens,
  type ApiKeyRow,
  type ApiKeys,
  type PublicUser,
  type SessionRow,
  type Sessions,
  type ValidateOptions,
} from "@burrow/platform-auth";
import type { Context, MiddlewareHandler } from "hono";
import { readSessionCookie } from "../cookies.ts";
import type { AppEnv } from "../env.ts";

/** A person signed in: by session cookie, session token or access token. */
export interface SessionCaller {
  kind: "session";
  user: PublicUser;
  session: SessionRow;
  /**
   * How the credential arrived: a cookie needs CSRF protection, a header does not; an access token
   * (a JWT minted for other services) is the session's delegate, not the session.
   */
  via: "cookie" | "bearer" | "access_token";
}

/** A machine, by API key, acting for the key's owner within the key's scopes. */
export interface ApiKeyCaller {
  kind: "api_key";
  user: PublicUser;
  key: ApiKeyRow;
}

export type Caller = SessionCaller | ApiKeyCaller;

/** The request's credentials, validated only when a route asks (public routes pay nothing). */
export interface Authentication {
  /** Which credential the request carries, without validating it. */
  presented: "cookie" | "bearer" | null;
  caller(): Promise<Caller | undefined>;
  require(): Promise<Caller>;
  /** The caller's user id if a route already identified them (for the request log; never a query). */
  knownUserId(): string | undefined;
}

/** An Authorization header carrying a token; the token is the first group. */
export const BEARER = /^Bearer\s+(\S+)$/i;
/**
 * Methods that only read. Every other request may change something — a step-up, a password, a
 * factor, a key — so its caller is validated against the database, never the session cache: a
 * session revoked a moment ago on another node cannot do anything sensitive in the gap.
 */
const READS = new Set(["GET", "HEAD", "OPTIONS"]);
/** The shape of a JWT (an access token), told apart from session tokens and API keys. */
export const JWT = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A credential's caller, or the refusal the routes answer with. */
export type Identified = { caller: Caller } | { error: PlatformError };

/**
 * A session token (or the session cookie) or an access token, validated: the one place the
 * middleware and the session check's fast lane turn one into a caller.
 */
export async function identifySession(
  services: { sessions: Sessions; accessTokens: AccessTokens },
  credential: string,
  via: "cookie" | "bearer",
  validateOptions: ValidateOptions,
): Promise<Identified> {
  if (JWT.test(credential)) {
    try {
      const { session, user } = await services.accessTokens.authenticate(credential, validateOptions);
      return { caller: { kind: "session", user, session, via: "access_token" } };
    } catch (error) {
      if (error instanceof PlatformError) return { error };
      throw error;
    }
  }
  const validation = await services.sessions.validate(credential, "app", validateOptions);
  if (validation.session === null)
    return {
      error: new PlatformError(
        validation.reason === "malformed" || validation.reason === "unknown" ? "invalid_token" : "session_expired",
      ),
    };
  return { caller: { kind: "session", user: validation.user, session: validation.session, via } };
}

const handedOver = new WeakMap<Request, Promise<Identified>>();

/**
 * The fast lane's validation of a request it leaves to the routes (a refusal, worded by them): the
 * middleware uses it rather than validating the credential a second time.
 */
export function handOver(request: Request, identified: Promise<Identified>): void {
  handedOver.set(request, identified);
}

export const authenticate = (options: {
  config: Config;
  sessions: Sessions;
  accessTokens: AccessTokens;
  apiKeys: ApiKeys;
}): MiddlewareHandler<AppEnv> =>
  // Not async: it only sets up the lazy check and passes on, without a promise of its own.
  function authenticate(c, next) {
    // A key in a URL ends up in logs, histories and Referer headers: refuse it outright. (The URL is
    // parsed only when it has a query: most requests have none.)
    if (c.req.url.includes("?"))
      for (const value of new URL(c.req.url).searchParams.values()) {
        if (value.startsWith("bk_"))
          throw new PlatformError("invalid_token", {
            detail: "API keys are accepted in the Authorization or X-API-Key header only, never in the URL.",
          });
      }
    const header = c.req.header("authorization");
    const apiKeyHeader = c.req.header("x-api-key");
    const bearer = header === undefined ? undefined : BEARER.exec(header)?.[1];
    const cookie =
      bearer === undefined && apiKeyHeader === undefined ? readSessionCookie(c, options.config) : undefined;
    const presented =
      bearer !== undefined || apiKeyHeader !== undefined ? "bearer" : cookie !== undefined ? "cookie" : null;
    let result: Promise<Identified> | undefined;

    async function identify(): Promise<Identified> {
      const request = c.get("requestContext");
      // The session check's fast lane validated this very request already, and left the refusal to us.
      const known = handedOver.get(c.req.raw);
      if (known !== undefined) return known;
      const validateOptions = { fresh: !READS.has(c.req.method) };
      const credential = apiKeyHeader ?? bearer ?? cookie;
      if (credential === undefined) {
        if (header !== undefined)
          return {
            error: new PlatformError("invalid_token", { detail: "The Authorization header must be `Bearer <token>`." }),
          };
        return { error: new PlatformError("unauthenticated") };
      }
      if (apiKeyHeader !== undefined || credential.startsWith("bk_")) {
        const key = await options.apiKeys.authenticate(credential, request);
        return key === undefined
          ? { error: new PlatformError("invalid_token", { detail: "The API key is not valid." }) }
          : { caller: { kind: "api_key", user: key.user, key: key.key } };
      }
      const outcome = await identifySession(
        options,
        credential,
        presented === "cookie" ? "cookie" : "bearer",
        validateOptions,
      );
      // Whatever this request does as the user is recorded as the operator's doing too.
      if ("caller" in outcome && outcome.caller.kind === "session" && outcome.caller.session.impersonatorId !== null)
        request.impersonatorId = outcome.caller.session.impersonatorId;
      return outcome;
    }

    let knownUserId: string | undefined;
    const resolve = () =>
      (result ??= identify().then((outcome) => {
        if ("caller" in outcome) knownUserId = outcome.caller.user.id;
        return outcome;
      }));
    c.set("authentication", {
      presented,
      caller: async () => {
        const outcome = await resolve();
        return "caller" in outcome ? outcome.caller : undefined;
      },
      require: async () => {
        const outcome = await resolve();
        if ("error" in outcome) throw outcome.error;
        return outcome.caller;
      },
      knownUserId: () => knownUserId,
    });
    return next();
  };

/**
 * For routes only a signed-in person may use: an API key is refused with 403. A session held back by
 * the MFA policy is refused too (403 `mfa_enrolment_required`) unless the route is part of enrolling.
 */
export async function requireCaller(
  c: Context<AppEnv>,
  options: { allowRestricted?: boolean } = {},
): Promise<SessionCaller> {
  const caller = await c.get("authentication").require();
  if (caller.kind !== "session")
    throw new PlatformError("forbidden", { detail: "This needs a signed-in user; API keys cannot do it." });
  if (caller.session.restriction !== null && options.allowRestricted !== true)
    throw new PlatformError("mfa_enrolment_required");
  return caller;
}

/**
 * For Burrow's own account management (tokens, API keys, sessions, password, MFA, email, deletion):
 * the session itself, by cookie or session token. An access token is refused (403): every service
 * it was handed to could otherwise mint tokens, make keys or end the user's sessions with it.
 */
export async function requireSession(
  c: Context<AppEnv>,
  options: { allowRestricted?: boolean } = {},
): Promise<SessionCaller> {
  const caller = await requireCaller(c, options);
  if (caller.via === "access_token")
    throw new PlatformError("forbidden", {
      detail: "This needs the session itself (its cookie or session token), not an access token.",
    });
  return caller;
}

/** For routes an API key may also use, when it carries `scope`. */
export async function requireActor(c: Context<AppEnv>, scope: string): Promise<Caller> {
  const caller = await c.get("authentication").require();
  if (caller.kind === "api_key" && !scopeCovers(caller.key.scopes, scope))
    throw new PlatformError("forbidden", { detail: `The API key lacks the ${scope} scope.` });
  if (caller.kind === "session" && caller.session.restriction !== null)
    throw new PlatformError("mfa_enrolment_required");
  return caller;
}
