import { isId, randomToken, type SessionId } from "@burrow/platform-core";

/**
 * A session token is `ses_<id>.<secret>`: the id finds the row, the 256-bit secret proves
 * possession. Only SHA-256(secret) is stored, so a database dump cannot be replayed as a cookie.
 */
export interface SessionToken {
  id: SessionId;
  secret: string;
}

const SECRET = /^[A-Za-z0-9_-]{43}$/;

export function newSessionSecret(): string {
  return randomToken(32);
}

export function formatSessionToken(token: SessionToken): string {
  return `${token.id}.${token.secret}`;
}

/** Splits a presented token; undefined for anything not shaped like one of ours. */
export function parseSessionToken(value: string): SessionToken | undefined {
  const dot = value.indexOf(".");
  if (dot < 0) return undefined;
  const id = value.slice(0, dot);
  const secret = value.slice(dot + 1);
  if (!isId("session", id) || !SECRET.test(secret)) return undefined;
  return { id, secret };
}
