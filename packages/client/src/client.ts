import createClient, { type Client } from "openapi-fetch";
import { cookieJarSend, inBrowser } from "./cookies.ts";
import { BurrowError, unwrap } from "./errors.ts";
import type { components, paths } from "./schema.d.ts";
import {
  createTokenAuthentication,
  memoryStorage,
  type Send,
  type SignedOutEvent,
  type TokenAuthentication,
  type TokenStorage,
  type Tokens,
} from "./tokens.ts";

export type User = components["schemas"]["User"];
export type Session = components["schemas"]["Session"];
/** The typed openapi-fetch client: every operation of the API, by path and method. */
export type BurrowApi = Client<paths>;

export interface BurrowClientOptions {
  /** Where Burrow's API is, such as `https://id.example.com` (no trailing path). */
  baseUrl: string;
  /**
   * `cookie`: the HttpOnly session cookie (browsers on Burrow's origin or one it allows; outside a
   * browser the client keeps the cookie in memory). `token`: access and refresh tokens sent as
   * `Authorization: Bearer` (native apps, services, single-page apps on other origins).
   */
  mode: "cookie" | "token";
  /** Token mode: where the tokens live. Memory by default. */
  storage?: TokenStorage;
  /** The fetch to send requests with (a test's, or one with a proxy agent). `globalThis.fetch` by default. */
  fetch?: (request: Request) => Promise<Response>;
  /** Cookie mode outside a browser: the `Origin` to send (one Burrow allows). `baseUrl`'s origin by default. */
  origin?: string;
  /** Called when the client becomes signed out: by `signOut()`, or because a refresh was refused. */
  onSignedOut?: (event: SignedOutEvent) => void;
}

export type SignedInResult = { status: "signed_in"; user: User; session: Session };
export type SignInResult =
  | SignedInResult
  | {
      status: "mfa_required";
      /** Good for 5 minutes and 5 tries: pass it to `verifyMfa` (or `verifyMfaWithPasskey`). */
      mfaToken: string;
      methods: string[];
    };
export type SignUpResult = SignedInResult | { status: "verification_required" };
export type MfaProof =
  | { mfaToken: string; method: "totp" | "recovery_code"; code: string }
  | {
      mfaToken: string;
      method: "passkey";
      assertion: { ceremonyId: string; response: components["schemas"]["WebAuthnResponse"] };
    };

export interface BurrowClient {
  readonly mode: "cookie" | "token";
  /** Every operation, typed from the OpenAPI document; answers `{ data, error, response }` (see `unwrap`). */
  readonly api: BurrowApi;
  /** Creates an account. With email verification on (Burrow's default) nobody is signed in yet. */
  signUp(input: { email: string; password: string; name?: string }): Promise<SignUpResult>;
  /** Signs in with a password: signed in, or a second factor is needed (`verifyMfa`). */
  signIn(input: { email: string; password: string }): Promise<SignInResult>;
  /** Finishes a sign-in with a second factor. */
  verifyMfa(proof: MfaProof): Promise<SignedInResult>;
  /** Ends the session (and with it, in token mode, the refresh token). Signed out already is fine. */
  signOut(): Promise<void>;
  /** The signed-in user and session, or null when nobody is signed in. */
  getSession(): Promise<{ user: User; session: Session } | null>;
  /** Token mode: the current access token (to call your own services with), or null when signed out. */
  accessToken(): Promise<string | null>;
}

/**
 * A typed client for Burrow's API, for browsers, Node.js and Bun.
 * @example
 * const burrow = createBurrowClient({ baseUrl: "https://id.example.com", mode: "token" });
 * const result = await burrow.signIn({ email, password });
 * if (result.status === "mfa_required") await burrow.verifyMfa({ mfaToken: result.mfaToken, method: "totp", code });
 * const { data } = await burrow.api.GET("/v1/me");
 */
export function createBurrowClient(options: BurrowClientOptions): BurrowClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const plainFetch: Send = options.fetch ?? ((request) => globalThis.fetch(request));
  const { mode } = options;

  // Cookie mode: a browser sends the cookie across origins only with `credentials: "include"`. Token
  // mode sends none, so a request is never authenticated by a cookie the page happens to hold.
  const credentials: RequestCredentials = mode === "cookie" ? "include" : "omit";
  const cookieSend: Send =
    mode === "cookie" && !inBrowser()
      ? cookieJarSend(plainFetch, options.origin ?? new URL(baseUrl).origin)
      : plainFetch;
  const bare = createClient<paths>({ baseUrl, fetch: cookieSend, credentials });

  const tokens: TokenAuthentication | null =
    mode === "token"
      ? createTokenAuthentication({
          storage: options.storage ?? memoryStorage(),
          send: plainFetch,
          onSignedOut: options.onSignedOut,
          refresh: async (refreshToken) => {
            const answer = unwrap(
              await bare.POST("/v1/auth/token", { body: { grantType: "refresh_token", refreshToken } }),
            );
            if (!("accessToken" in answer)) throw new Error("Burrow answered a refresh without tokens.");
            // Rotation gives a new refresh token every time; keep the old one only if none came.
            return { accessToken: answer.accessToken, refreshToken: answer.refreshToken ?? refreshToken };
          },
        })
      : null;
  const api = tokens === null ? bare : createClient<paths>({ baseUrl, fetch: tokens.send, credentials });

  /** Token mode: keep the pair, then ask who signed in. */
  async function signedInWithTokens(pair: { accessToken: string; refreshToken?: string }): Promise<SignedInResult> {
    if (tokens === null || pair.refreshToken === undefined)
      throw new Error("Burrow answered with tokens the client cannot keep.");
    await tokens.signedIn({ accessToken: pair.accessToken, refreshToken: pair.refreshToken } satisfies Tokens);
    const session = await getSession();
    if (session === null) throw new Error("Burrow issued tokens it does not accept.");
    return { status: "signed_in", ...session };
  }

  async function signIn(input: { email: string; password: string }): Promise<SignInResult> {
    if (tokens === null) {
      const answer = unwrap(await api.POST("/v1/auth/sign-in", { body: input }));
      if ("mfaRequired" in answer)
        return { status: "mfa_required", mfaToken: answer.mfaToken, methods: answer.methods };
      return { status: "signed_in", user: answer.user, session: answer.session };
    }
    const answer = unwrap(await bare.POST("/v1/auth/token", { body: { grantType: "password", ...input } }));
    if ("mfaRequired" in answer) return { status: "mfa_required", mfaToken: answer.mfaToken, methods: answer.methods };
    return signedInWithTokens(answer);
  }

  async function getSession(): Promise<{ user: User; session: Session } | null> {
    if (tokens !== null && (await tokens.accessToken()) === null) return null;
    try {
      return unwrap(await api.GET("/v1/auth/session"));
    } catch (error) {
      // Not signed in is an answer, not a failure.
      if (error instanceof BurrowError && error.status === 401) return null;
      throw error;
    }
  }

  return {
    mode,
    api,

    async signUp(input) {
      if (tokens === null) {
        const created = unwrap(await api.POST("/v1/auth/sign-up", { body: input }));
        if ("verificationRequired" in created) return { status: "verification_required" };
        return { status: "signed_in", user: created.user, session: created.session };
      }
      // Sign-up answers with a session, not tokens: end that session, then take tokens by password.
      const created = unwrap(
        await bare.POST("/v1/auth/sign-up", { body: input, headers: { "x-burrow-client": "bearer" } }),
      );
      if ("verificationRequired" in created) return { status: "verification_required" };
      if (created.sessionToken !== undefined)
        unwrap(await bare.POST("/v1/auth/sign-out", { headers: { authorization: `Bearer ${created.sessionToken}` } }));
      const signedIn = await signIn({ email: input.email, password: input.password });
      if (signedIn.status !== "signed_in") throw new Error("A new account asked for a second factor.");
      return signedIn;
    },

    signIn,

    async verifyMfa(proof) {
      const answer = unwrap(await bare.POST("/v1/auth/mfa/verify", { body: proof }));
      if ("accessToken" in answer) return signedInWithTokens(answer);
      return { status: "signed_in", user: answer.user, session: answer.session };
    },

    async signOut() {
      try {
        if (tokens === null || (await tokens.accessToken()) !== null) unwrap(await api.POST("/v1/auth/sign-out"));
      } catch (error) {
        // Signed out already (an ended session, a refused refresh): the outcome asked for.
        if (!(error instanceof BurrowError && error.status === 401)) throw error;
      }
      // A refused refresh has signed the client out (and said so) already.
      if (tokens === null) options.onSignedOut?.({ reason: "sign_out" });
      else if ((await tokens.accessToken()) !== null) await tokens.signedOut({ reason: "sign_out" });
    },

    getSession,

    async accessToken() {
      return tokens === null ? null : tokens.accessToken();
    },
  };
}
