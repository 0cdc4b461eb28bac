import { and, eq } from "drizzle-orm";
import * as oidc from "openid-client";
import {
  mintSecret,
  newId,
  PlatformError,
  secretHash,
  sha256,
  singleUse,
  type KeyRing,
  type RequestContext,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import { checkRedirect } from "../flows/links.ts";
import { oauthStates, users } from "../schema.ts";
import type { SessionRow, Sessions } from "../sessions/sessions.ts";
import type { SignInCompletion, SignInOutcome } from "../sign-in/complete.ts";
import type { AccessTokens, TokenResponse } from "../tokens/service.ts";
import type { LinkedAccounts, ProviderIdentity } from "./accounts.ts";
import { fetchGitHubIdentity, GitHubApiError } from "./github.ts";
import type { ProviderDirectory } from "./providers.ts";

/** A social login in flight lives 10 minutes; an app's one-time code, 1 minute. */
export const OAUTH_STATE_TTL_MS = 10 * 60_000;
export const OAUTH_EXCHANGE_TTL_MS = 60_000;

// Two single-use secrets share a row: the state (10 minutes), then an app's one-time code (1 minute).
const states = singleUse(oauthStates, {
  id: oauthStates.id,
  expiresAt: oauthStates.expiresAt,
  usedAt: oauthStates.usedAt,
});
const exchangeCodes = singleUse(oauthStates, {
  id: oauthStates.id,
  expiresAt: oauthStates.exchangeExpiresAt,
  usedAt: oauthStates.exchangedAt,
});

export const oauthStateSweeper = states.sweeper("auth.oauth_states", 86_400_000);

/** The S256 challenge of an app's PKCE verifier (RFC 7636: base64url of SHA-256, 43 characters). */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

/** Where a callback leaves the browser. */
export type CallbackOutcome =
  | ({ kind: "signed_in" | "mfa_required" } & SignInOutcome)
  | { kind: "linked"; redirectTo: string | null }
  /** An app's flow: the browser goes to the app's `redirectTo` with a one-time `code` (never tokens). */
  | { kind: "code"; redirectTo: string };

/** An app's code exchange: as every sign-in, or, when the app asked for tokens, access and refresh tokens. */
export type ExchangeOutcome = SignInOutcome | { kind: "tokens"; tokens: TokenResponse };

export interface SocialLogin {
  /**
   * Starts a social login: a state row (PKCE S256 verifier, nonce, where to go after, 10 minutes, used
   * once) bound to this browser by `browserSecret`, which the caller puts in a short-lived cookie.
   * With `link`, the signed-in session's user links the provider instead of signing in. With
   * `appCodeChallenge`, the flow ends in a one-time code for the app at its allow-listed `redirectTo`.
   */
  start(input: {
    provider: string;
    redirectTo?: string;
    link?: SessionRow;
    appCodeChallenge?: string;
  }): Promise<{ authorizationUrl: string; browserSecret: string }>;
  /**
   * The provider's answer: the state (present, known, unused, unexpired, this browser's, this
   * provider's), the issuer, the code's exchange with the PKCE verifier, the ID token's signature,
   * `aud`, `nonce` and expiry (GitHub: no ID token; its user and emails APIs with the access token);
   * then the account, and the one sign-in completion.
   */
  callback(
    input: { provider: string; callbackUrl: URL; browserSecret: string | undefined },
    request: RequestContext,
  ): Promise<CallbackOutcome>;
  /**
   * An app's one-time code and its PKCE verifier → the completion: a session, or with `result:
   * "tokens"` an access and a refresh token (a second factor's step then ends in tokens too).
   */
  exchange(
    input: { code: string; codeVerifier: string; result?: "session" | "tokens" },
    request: RequestContext,
  ): Promise<ExchangeOutcome>;
}

export function createSocialLogin(
  context: AuthContext,
  parts: {
    keyRing: KeyRing;
    sessions: Pick<Sessions, "validateById">;
    tokens: Pick<AccessTokens, "tokensForSession">;
    providers: ProviderDirectory;
    accounts: LinkedAccounts;
    completion: SignInCompletion;
  },
): SocialLogin {
  const { db, config, clock, audit } = context;
  const { keyRing, providers, completion } = parts;
  const callbackUrlOf = (provider: string) =>
    new URL(`${config.basePath}/v1/auth/oauth/${encodeURIComponent(provider)}/callback`, config.publicUrl);
  const verifierAad = (stateId: string) => `oauth-state:${stateId}`;
  const invalidState = () => new PlatformError("invalid_oauth_state");
  const codeOf = (error: unknown, otherwise: string): string =>
    typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
      ? error.code
      : otherwise;

  async function refused(provider: string, reason: string, request: RequestContext, userId?: string): Promise<void> {
    await audit.record(
      db,
      {
        action: "oauth.sign_in_failed",
        actor: { type: "anonymous" },
        ...(userId === undefined ? {} : { target: { type: "user", id: userId } }),
        outcome: "failure",
        metadata: { provider, reason },
      },
      request,
    );
  }

  /**
   * Claims the state once, in its own statement: the browser's cookie and the provider in the URL
   * are part of the match, so another browser (or another provider's callback) can neither use nor
   * burn it, and a used one is gone whatever happens after.
   */
  async function claimState(provider: string, state: string, browserSecret: string) {
    const stateHashValue = secretHash(state);
    const browserHashValue = secretHash(browserSecret);
    if (stateHashValue === undefined || browserHashValue === undefined) return undefined;
    return states.redeem(
      db,
      clock.now(),
      and(
        eq(oauthStates.stateHash, stateHashValue),
        eq(oauthStates.browserHash, browserHashValue),
        eq(oauthStates.provider, provider),
      )!,
    );
  }

  return {
    async start(input) {
      const resolved = await providers.resolve(db, input.provider);
      const redirectTo = checkRedirect(config, input.redirectTo) ?? null;
      if (input.appCodeChallenge !== undefined) {
        if (!S256_CHALLENGE.test(input.appCodeChallenge))
          throw new PlatformError("validation_failed", {
            detail: "codeChallenge must be the S256 challenge of the app's PKCE verifier.",
          });
        // The code goes to the app in a URL: only to a target the operator allowed.
        if (redirectTo === null)
          throw new PlatformError("validation_failed", { detail: "An app's sign-in needs its redirectTo." });
      }
      const state = mintSecret();
      const browser = mintSecret();
      const verifier = oidc.randomPKCECodeVerifier();
      const nonce = oidc.randomNonce();
      const now = clock.now();
      const id = newId("oauthState", now.getTime());
      await db.insert(oauthStates).values({
        id,
        stateHash: state.hash,
        browserHash: browser.hash,
        provider: resolved.settings.id,
        purpose: input.link === undefined ? "sign_in" : "link",
        userId: input.link?.userId ?? null,
        sessionId: input.link?.id ?? null,
        codeVerifierEncrypted: keyRing.encrypt(verifier, verifierAad(id)),
        nonce,
        redirectTo,
        appCodeChallenge: input.appCodeChallenge ?? null,
        expiresAt: new Date(now.getTime() + OAUTH_STATE_TTL_MS),
        createdAt: now,
      });
      const authorizationUrl = oidc.buildAuthorizationUrl(resolved.client(), {
        redirect_uri: callbackUrlOf(resolved.settings.id).toString(),
        scope: resolved.scope,
        state: state.secret,
        // GitHub issues no ID token to carry a nonce back: its row keeps one that nothing checks.
        ...(resolved.protocol === "oidc" ? { nonce } : {}),
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
      });
      return { authorizationUrl: authorizationUrl.toString(), browserSecret: browser.secret };
    },

    async callback(input, request) {
      const provider = input.provider;
      const query = input.callbackUrl.searchParams;
      const state = query.get("state");
      if (state === null || input.browserSecret === undefined) {
        await refused(provider, state === null ? "missing_state" : "missing_browser_binding", request);
        throw invalidState();
      }
      const row = await claimState(provider, state, input.browserSecret);
      if (row === undefined) {
        await refused(provider, "unknown_state", request);
        throw invalidState();
      }
      // A link is the user's act in the session that started it: signed out, revoked or expired since
      // (another person at the keyboard, or a stolen session ended by its owner), it links nothing.
      if (row.purpose === "link") {
        const started =
          row.sessionId === null ? undefined : await parts.sessions.validateById(row.sessionId, { fresh: true });
        if (started?.session == null || started.session.userId !== row.userId) {
          await refused(provider, "link_session_ended", request, row.userId ?? undefined);
          throw new PlatformError("session_expired", { detail: "The session that started the link has ended." });
        }
      }
      const resolved = await providers.resolve(db, provider);
      // The provider's error answer (the user cancelled, consent refused): nothing was proven.
      if (query.has("error")) {
        await refused(provider, "provider_error", request, row.userId ?? undefined);
        throw new PlatformError("oauth_failed", { detail: "The provider did not sign you in." });
      }
      // The redirect_uri sent to the token endpoint is ours from PUBLIC_URL, never the request's Host.
      const current = callbackUrlOf(provider);
      current.search = input.callbackUrl.search;
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        // Checks the iss parameter when the provider sends one (mix-up), the state, the code's
        // exchange with our PKCE verifier, and the ID token's signature, iss, aud, nonce and expiry.
        // GitHub (OAuth 2.0 only) has no ID token: its answer is the access token alone.
        tokens = await oidc.authorizationCodeGrant(resolved.client(), current, {
          pkceCodeVerifier: keyRing.decrypt(row.codeVerifierEncrypted, verifierAad(row.id)),
          expectedState: state,
          ...(resolved.protocol === "oidc" ? { expectedNonce: row.nonce, idTokenExpected: true } : {}),
        });
      } catch (error) {
        // The library's code names the failed check; the message (which may quote claims) is not kept.
        await refused(provider, codeOf(error, "exchange_failed"), request, row.userId ?? undefined);
        throw new PlatformError("oauth_failed");
      }
      let identity: ProviderIdentity;
      if (resolved.protocol === "github") {
        try {
          const github = await fetchGitHubIdentity(
            resolved.client(),
            resolved.settings.endpoints!,
            tokens.access_token,
          );
          identity = {
            provider,
            ...github,
            trusted: resolved.settings.trustEmail,
            accessToken: tokens.access_token,
            refreshToken: tokens.refresh_token ?? null,
          };
        } catch (error) {
          const reason = error instanceof GitHubApiError ? `github_${error.reason}` : "github_failed";
          await refused(provider, reason, request, row.userId ?? undefined);
          throw new PlatformError("oauth_failed", { detail: "GitHub did not say who you are." });
        }
      } else {
        const idToken = tokens.claims();
        if (idToken === undefined) throw new PlatformError("oauth_failed");
        let claims: Record<string, unknown> & { sub: string } = idToken;
        // Many providers keep the address and profile for the userinfo endpoint (OIDC Core 5.4); the
        // library checks that its `sub` is the ID token's.
        if (idToken.email === undefined && resolved.client().serverMetadata().userinfo_endpoint !== undefined) {
          try {
            claims = { ...(await oidc.fetchUserInfo(resolved.client(), tokens.access_token, idToken.sub)), ...idToken };
          } catch (error) {
            await refused(provider, codeOf(error, "userinfo_failed"), request, row.userId ?? undefined);
            throw new PlatformError("oauth_failed");
          }
        }
        identity = {
          provider,
          subject: claims.sub,
          email: typeof claims.email === "string" ? claims.email : null,
          emailVerified: claims.email_verified === true,
          trusted: resolved.settings.trustEmail,
          profile: {
            ...(typeof claims.name === "string" ? { name: claims.name } : {}),
            ...(typeof claims.picture === "string" ? { picture: claims.picture } : {}),
          },
          accessToken: tokens.access_token,
          refreshToken: tokens.refresh_token ?? null,
        };
      }
      const method = `oauth:${provider}`;
      try {
        return await completion.transaction(async (tx): Promise<CallbackOutcome> => {
          if (row.purpose === "link") {
            await parts.accounts.link(tx, row.userId!, identity, request);
            return { kind: "linked", redirectTo: row.redirectTo };
          }
          const userId = await parts.accounts.resolve(tx, identity, request);
          await audit.recordByUser(tx, userId, "oauth.signed_in", request, { metadata: { provider } });
          if (row.appCodeChallenge !== null) {
            const code = mintSecret();
            await tx
              .update(oauthStates)
              .set({
                exchangeCodeHash: code.hash,
                exchangeUserId: userId,
                exchangeExpiresAt: new Date(clock.now().getTime() + OAUTH_EXCHANGE_TTL_MS),
              })
              .where(eq(oauthStates.id, row.id));
            const target = new URL(row.redirectTo!);
            target.searchParams.set("code", code.secret);
            return { kind: "code", redirectTo: target.toString() };
          }
          const outcome = await completion.afterFirstFactor(tx, userId, method, request, {
            redirectTo: row.redirectTo,
          });
          return outcome.kind === "signed_in" ? outcome : { ...outcome, kind: "mfa_required" };
        });
      } catch (error) {
        if (error instanceof PlatformError && error.code.startsWith("oauth_"))
          await refused(provider, error.code, request, row.userId ?? undefined);
        throw error;
      }
    },

    async exchange(input, request) {
      const hash = secretHash(input.code);
      if (hash === undefined || !VERIFIER.test(input.codeVerifier)) throw invalidState();
      // One winner: the code is spent by the statement that checks it, right or wrong verifier.
      const row = await exchangeCodes.redeem(db, clock.now(), eq(oauthStates.exchangeCodeHash, hash));
      if (row === undefined || row.exchangeUserId === null || row.appCodeChallenge === null) throw invalidState();
      const challenge = await oidc.calculatePKCECodeChallenge(input.codeVerifier);
      if (sha256(challenge) !== sha256(row.appCodeChallenge)) {
        await refused(row.provider, "app_pkce_mismatch", request, row.exchangeUserId);
        throw invalidState();
      }
      const userId = row.exchangeUserId;
      const result = input.result ?? "session";
      const outcome = await completion.transaction(async (tx) => {
        const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, userId));
        if (user === undefined) throw invalidState();
        return completion.afterFirstFactor(tx, userId, `oauth:${row.provider}`, request, { result });
      });
      // The same tokens as the password grant's: the session just started, bound to a refresh family.
      if (result === "tokens" && outcome.kind === "signed_in")
        return { kind: "tokens", tokens: await parts.tokens.tokensForSession(outcome, "oauth_exchange", request) };
      return outcome;
    },
  };
}
