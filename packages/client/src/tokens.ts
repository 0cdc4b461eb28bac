import { BurrowError } from "./errors.ts";

/** What token mode keeps: a short access token and the refresh token that rotates on every use. */
export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

/**
 * Where token mode keeps its tokens. Memory (the default) is the safest place in a browser: a token
 * in `localStorage` is readable by any script on the page. A native app would use its keychain.
 * Methods may be synchronous or return promises.
 */
export interface TokenStorage {
  get(): Tokens | null | Promise<Tokens | null>;
  /** `null` forgets the tokens (signed out). */
  set(tokens: Tokens | null): void | Promise<void>;
}

/** Tokens held in this process's memory only: gone on reload or restart. */
export function memoryStorage(): TokenStorage {
  let held: Tokens | null = null;
  return {
    get: () => held,
    set: (tokens) => void (held = tokens),
  };
}

/** Why the client became signed out: `sign_out` was asked for; `session_ended` was found on refresh. */
export interface SignedOutEvent {
  reason: "sign_out" | "session_ended";
  /** For `session_ended`: the refresh's refusal (a reused or revoked refresh token answers `invalid_token`). */
  error?: BurrowError;
}

/** Sends a request as it is (no credential added). */
export type Send = (request: Request) => Promise<Response>;

export interface TokenAuthentication {
  /** Sends a request with the access token, refreshing once and retrying once when it was refused. */
  send: Send;
  /** Stores a new pair (after a sign-in). */
  signedIn(tokens: Tokens): Promise<void>;
  /** Forgets the tokens and tells `onSignedOut`. */
  signedOut(event: SignedOutEvent): Promise<void>;
  /** The current access token, or null when signed out. */
  accessToken(): Promise<string | null>;
}

/** The codes with which Burrow refuses a presented token it will not accept (expired, unknown, revoked). */
const REFUSED_TOKEN_CODES = new Set(["invalid_token", "session_expired"]);

/**
 * Bearer authentication with automatic refresh. One refresh runs at a time: every request refused
 * while it runs waits for the same promise, so a burst of expired requests spends one refresh token
 * (a second use outside the server's grace window would look like theft and end the session).
 */
export function createTokenAuthentication(options: {
  storage: TokenStorage;
  /** Exchanges a refresh token for a new pair; throws the server's refusal as a BurrowError. */
  refresh: (refreshToken: string) => Promise<Tokens>;
  send: Send;
  onSignedOut?: ((event: SignedOutEvent) => void) | undefined;
}): TokenAuthentication {
  const { storage, send } = options;
  let refreshing: Promise<Tokens> | null = null;

  async function signedOut(event: SignedOutEvent): Promise<void> {
    await storage.set(null);
    options.onSignedOut?.(event);
  }

  async function runRefresh(refreshToken: string): Promise<Tokens> {
    try {
      const tokens = await options.refresh(refreshToken);
      await storage.set(tokens);
      return tokens;
    } catch (error) {
      // A 401 is final (reused, revoked, expired): the tokens are worthless. Anything else (429, 5xx,
      // no network) may pass, so the tokens are kept for the next try.
      if (error instanceof BurrowError && error.status === 401) await signedOut({ reason: "session_ended", error });
      throw error;
    }
  }

  /** Fresh tokens after `stale` was refused: joins a refresh in flight, or finds one already done. */
  async function refreshAfter(stale: string): Promise<Tokens> {
    if (refreshing !== null) return refreshing;
    const current = await storage.get();
    if (refreshing !== null) return refreshing;
    if (current === null)
      throw new BurrowError(401, { code: "unauthenticated", title: "Signed out.", detail: "Signed out." });
    if (current.accessToken !== stale) return current;
    refreshing = runRefresh(current.refreshToken).finally(() => {
      refreshing = null;
    });
    return refreshing;
  }

  async function refusedToken(response: Response): Promise<boolean> {
    if (response.status !== 401) return false;
    const body: unknown = await response
      .clone()
      .json()
      .catch(() => undefined);
    const code = typeof body === "object" && body !== null ? (body as { code?: unknown }).code : undefined;
    return typeof code === "string" && REFUSED_TOKEN_CODES.has(code);
  }

  const withBearer = (request: Request, token: string): Request => {
    const authorized = new Request(request);
    authorized.headers.set("authorization", `Bearer ${token}`);
    return authorized;
  };

  return {
    async send(request) {
      // A request that names its own credential (an API key, a session token) is sent as it is.
      if (request.headers.has("authorization")) return send(request);
      const tokens = await storage.get();
      if (tokens === null) return send(request);
      const retry = request.clone();
      const response = await send(withBearer(request, tokens.accessToken));
      if (!(await refusedToken(response))) return response;
      const fresh = await refreshAfter(tokens.accessToken);
      return send(withBearer(retry, fresh.accessToken));
    },
    async signedIn(tokens) {
      await storage.set(tokens);
    },
    signedOut,
    async accessToken() {
      return (await storage.get())?.accessToken ?? null;
    },
  };
}
