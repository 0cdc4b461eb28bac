import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from "jose";

/**
 * For other services: verify a Burrow access token offline against its JWKS. Keys are cached and
 * fetched again when a token names a key not yet seen (a rotation), at most once per `cooldownMs`.
 * This module depends on `jose` only, so a service can import it without the rest of Burrow.
 * @example
 * const verifyToken = createTokenVerifier({ jwksUrl: "https://id.example.com/.well-known/jwks.json", issuer: "https://id.example.com", audience: "https://id.example.com" });
 * const claims = await verifyToken(request.headers.get("authorization")!.slice(7));
 */
export interface BurrowClaims extends JWTPayload {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  [claim: string]: unknown;
}

export type TokenErrorCode = "token_expired" | "token_invalid" | "jwks_unavailable";

export class TokenVerificationError extends Error {
  readonly code: TokenErrorCode;
  constructor(code: TokenErrorCode, message: string) {
    super(message);
    this.name = "TokenVerificationError";
    this.code = code;
  }
}

export interface TokenVerifierOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** Tolerated clock difference in seconds (60 by default). */
  clockToleranceSeconds?: number;
  /** Least time between two JWKS fetches (30 s by default). */
  cooldownMs?: number;
  /** Keys are refetched after this long even when known (10 minutes by default). */
  cacheMaxAgeMs?: number;
}

export function createTokenVerifier(options: TokenVerifierOptions): (token: string) => Promise<BurrowClaims> {
  const keys = createRemoteJWKSet(new URL(options.jwksUrl), {
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
  });
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: ["EdDSA"],
        typ: "at+jwt",
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance: options.clockToleranceSeconds ?? 60,
        requiredClaims: ["sub", "sid", "jti", "iat", "exp"],
      });
      return payload as BurrowClaims;
    } catch (error) {
      if (error instanceof errors.JWTExpired)
        throw new TokenVerificationError("token_expired", "The token has expired.");
      if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid)
        throw new TokenVerificationError("jwks_unavailable", "The signing keys could not be fetched.");
      throw new TokenVerificationError("token_invalid", "The token is not valid.");
    }
  };
}
