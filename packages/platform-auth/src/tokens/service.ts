import {
  PlatformError,
  userEvent,
  type AuditLog,
  type Database,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import type { PeekedSession } from "../sessions/sessions.ts";
import type { SessionRow, Sessions, ValidateOptions } from "../sessions/sessions.ts";
import type { Accounts, SignedIn } from "../sign-in/accounts.ts";
import type { PublicUser } from "../users/users.ts";
import type { RefreshTokens } from "./refresh.ts";
import { scopeCovers } from "./api-keys.ts";

/** The scope an API key needs to introspect tokens. */
export const INTROSPECT_SCOPE = "tokens:introspect";
import type { AccessTokenClaims, SigningKeys } from "./signing-keys.ts";

export interface TokenResponse {
  accessToken: string;
  tokenType: "Bearer";
  expiresIn: number;
  refreshToken?: string;
}

/**
 * Extra access-token claims, supplied at composition time: roles and permissions, for the organization
 * the token is minted for when one is named. Throws (a PlatformError) to refuse minting.
 */
export type ClaimsProvider = (userId: UserId, context: { orgId: string | null }) => Promise<Record<string, unknown>>;

export interface Introspection {
  active: boolean;
  sub?: string;
  sid?: string;
  exp?: number;
  iat?: number;
  iss?: string;
  aud?: string | string[];
  jti?: string;
  token_type?: "access_token";
}

export interface AccessTokens {
  /**
   * `grantType: "password"` — the same lockout, limits, enumeration safety and MFA as cookie sign-in:
   * an account with a second factor gets an MFA challenge, and tokens after `POST /v1/auth/mfa/verify`.
   */
  passwordGrant(
    input: { email: string; password: string; orgId?: string | null },
    request: RequestContext,
  ): Promise<TokenResponse | { mfaRequired: true; mfaToken: string; methods: string[] }>;
  /** Access and refresh tokens for a session just started (the password grant, or after MFA). */
  tokensForSession(
    signedIn: SignedIn,
    grantType: string,
    request: RequestContext,
    orgId?: string | null,
  ): Promise<TokenResponse>;
  refreshGrant(refreshToken: string, request: RequestContext): Promise<TokenResponse>;
  /** `grantType: "session"` — a signed-in session mints a short access token (no refresh token). */
  sessionGrant(session: SessionRow, request: RequestContext, orgId?: string | null): Promise<TokenResponse>;
  /**
   * Signature and times, then that the session behind it is still live (the API's Bearer check).
   * `fresh`: the session is read from the database, not the session cache.
   */
  authenticate(
    token: string,
    options?: ValidateOptions,
  ): Promise<{ claims: AccessTokenClaims; session: SessionRow; user: PublicUser }>;
  /**
   * `authenticate` for a read, answered from memory alone, synchronously: a token verified before
   * whose session is cached and live; undefined when only `authenticate` can tell.
   */
  peek(token: string): (PeekedSession & { claims: AccessTokenClaims }) | undefined;
  /**
   * RFC 7662: only an authenticated client learns about a token — an API key holding
   * `tokens:introspect` (403 otherwise). Anyone else could read `sub` and `sid` off tokens they find.
   */
  introspect(token: string, client: { scopes: readonly string[] }): Promise<Introspection>;
}

export function createAccessTokens(options: {
  db: Database;
  audit: AuditLog;
  keys: SigningKeys;
  refresh: RefreshTokens;
  sessions: Sessions;
  accounts: Accounts;
  claims?: ClaimsProvider;
  /** `grantType: "password"` offered (`BURROW_PASSWORD_GRANT`); on unless false. */
  passwordGrant?: boolean;
}): AccessTokens {
  const { db, audit, keys, refresh, sessions } = options;

  /** Services verify access tokens offline and could not see a restriction: a restricted session gets none. */
  function assertFull(session: { restriction: string | null }): void {
    if (session.restriction !== null)
      throw new PlatformError("mfa_enrolment_required", { detail: "Set up a second factor before using tokens." });
  }

  const claimsFor = async (userId: string, orgId: string | null) =>
    (await options.claims?.(userId as UserId, { orgId })) ?? {};

  async function mint(
    userId: string,
    sessionId: string,
    orgId: string | null,
    claims = claimsFor(userId, orgId),
  ): Promise<{ token: string; expiresIn: number }> {
    // Composition claims never override the registered ones.
    return keys.sign({ ...(await claims), sub: userId, sid: sessionId });
  }

  async function issued(userId: string, grantType: string, request: RequestContext): Promise<void> {
    await audit.recordByUser(db, userId, "token.issued", request, { metadata: { grantType } });
  }

  async function authenticate(token: string, validateOptions: ValidateOptions = {}) {
    const claims = await keys.verify(token);
    const validation = await sessions.validateById(claims.sid, validateOptions);
    if (validation.session === null || validation.user.id !== claims.sub)
      throw new PlatformError("invalid_token", { detail: "The token's session has ended." });
    return { claims, session: validation.session, user: validation.user };
  }

  return {
    async passwordGrant(input, request) {
      // Refused before the password is looked at: no lockout slot, no hash, no hint about the account.
      if (options.passwordGrant === false)
        throw new PlatformError("validation_failed", {
          detail: "The password grant is turned off here: sign in, then use the session grant.",
          errors: [{ path: "grantType", message: "password is not offered (BURROW_PASSWORD_GRANT=off)" }],
        });
      const outcome = await options.accounts.signIn(input, request, { result: "tokens", orgId: input.orgId ?? null });
      if (outcome.kind === "mfa_required")
        return { mfaRequired: true, mfaToken: outcome.mfaToken, methods: outcome.methods };
      return this.tokensForSession(outcome, "password", request, input.orgId ?? null);
    },

    async tokensForSession(signedIn, grantType, request, orgId = null) {
      assertFull(signedIn.session);
      // Claims first: a refusal (not a member of that organization) must not leave a family behind.
      const access = await mint(signedIn.user.id, signedIn.session.id, orgId);
      const refreshToken = await refresh.start(db, { sessionId: signedIn.session.id, userId: signedIn.user.id, orgId });
      await issued(signedIn.user.id, grantType, request);
      return { accessToken: access.token, tokenType: "Bearer", expiresIn: access.expiresIn, refreshToken };
    },

    async refreshGrant(refreshToken, request) {
      // Audited in the rotation's transaction: no rotation commits without its `token.issued` entry.
      // The claims are read beside the rotation's write, once its family is known (the permissions
      // read, when not cached, is then not a round trip after it), on the pool, never inside a
      // transaction: transactions waiting on the pool they hold would exhaust it under load.
      // Signed after the commit.
      let claims: Promise<Record<string, unknown>> | undefined;
      const rotated = await refresh.rotate(
        refreshToken,
        request,
        ({ userId }) => userEvent(userId, "token.issued", { metadata: { grantType: "refresh_token" } }),
        ({ userId, orgId }) => {
          claims = claimsFor(userId, orgId);
          // Heard where it is awaited, below; a refused rotation leaves it unheard.
          claims.catch(() => undefined);
        },
      );
      const access = await mint(rotated.userId, rotated.sessionId, rotated.orgId, claims);
      return {
        accessToken: access.token,
        tokenType: "Bearer",
        expiresIn: access.expiresIn,
        refreshToken: rotated.refreshToken,
      };
    },

    async sessionGrant(session, request, orgId = null) {
      assertFull(session);
      const access = await mint(session.userId, session.id, orgId);
      await issued(session.userId, "session", request);
      return { accessToken: access.token, tokenType: "Bearer", expiresIn: access.expiresIn };
    },

    authenticate,

    peek(token) {
      const claims = keys.verified(token);
      if (claims === undefined) return undefined;
      const peeked = sessions.peekById(claims.sid);
      if (peeked === undefined || peeked.userId !== claims.sub) return undefined;
      return { ...peeked, claims };
    },

    async introspect(token, client) {
      if (!scopeCovers(client.scopes, INTROSPECT_SCOPE))
        throw new PlatformError("forbidden", {
          detail: `Introspection needs an API key with the ${INTROSPECT_SCOPE} scope.`,
        });
      try {
        // A service asks precisely to learn whether the session still stands: the database answers.
        const { claims } = await authenticate(token, { fresh: true });
        return {
          active: true,
          token_type: "access_token",
          sub: claims.sub,
          sid: claims.sid,
          exp: claims.exp,
          iat: claims.iat,
          jti: claims.jti,
          ...(claims.iss ? { iss: claims.iss } : {}),
          ...(claims.aud ? { aud: claims.aud } : {}),
        };
      } catch (error) {
        if (error instanceof PlatformError) return { active: false };
        throw error;
      }
    },
  };
}
