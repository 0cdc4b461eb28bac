import { and, desc, eq, isNull } from "drizzle-orm";
import {
  constantTimeEqual,
  hmacSha256,
  mintSecret,
  newId,
  randomDigits,
  secretHash,
  singleUse,
  type Clock,
  type Database,
  type UserId,
} from "@burrow/platform-core";
import { authTokens, type TokenPurpose } from "../schema.ts";
import { lockUser } from "../users/users.ts";

export type TokenRow = typeof authTokens.$inferSelect;

/** A code dies after this many wrong guesses. */
export const MAX_CODE_ATTEMPTS = 5;

export interface OneTimeTokens {
  /**
   * Issues a link secret (256 bits). Earlier live links of the same purpose are revoked, except a
   * verification link's (see `KEEPS_EARLIER`).
   */
  issueLink(
    db: Database,
    input: { userId: UserId; purpose: TokenPurpose; ttlMs: number; target?: string | null },
  ): Promise<string>;
  /** Issues a numeric code, revoking the user's earlier ones of the same purpose. */
  issueCode(
    db: Database,
    input: { userId: UserId; purpose: TokenPurpose; ttlMs: number; digits?: number; target?: string | null },
  ): Promise<string>;
  /**
   * The live link a secret names, without using it or locking anything: for the slow work a use
   * does before its transaction (hashing a new password). The use itself is still `consumeLink`'s.
   */
  findLink(db: Database, purpose: TokenPurpose, secret: string): Promise<TokenRow | undefined>;
  /**
   * Uses a link secret once. Undefined when it is unknown, of another purpose, used, revoked or
   * expired — one answer for all, and two racing uses cannot both succeed. Its account is locked
   * before the link is (`lockUser`, or `lockOwner` for a link that concerns more accounts than its
   * own): a change that holds the account and revokes its links (an email change) and a use of one
   * then queue instead of waiting on each other.
   */
  consumeLink(
    db: Database,
    purpose: TokenPurpose,
    secret: string,
    lockOwner?: (link: TokenRow) => Promise<unknown>,
  ): Promise<TokenRow | undefined>;
  /**
   * Checks a code for the user's newest live one; a wrong guess counts, the fifth kills it. Call it in
   * a transaction: the account, then the code's row are locked.
   */
  consumeCode(
    db: Database,
    input: { userId: UserId; purpose: TokenPurpose; code: string; target?: string | null },
  ): Promise<TokenRow | undefined>;
  /** Revokes every live token of the user for a purpose (for example a pending email change on reset). */
  revokeAll(db: Database, userId: UserId, purpose: TokenPurpose): Promise<void>;
  /** When the user's newest token of a purpose was issued (used or not), for resend cooldowns. */
  lastIssuedAt(db: Database, userId: UserId, purpose: TokenPurpose): Promise<Date | undefined>;
}

/**
 * Purposes whose newer token leaves the earlier ones valid until they expire. Proving an address
 * grants nothing, and two mails can arrive in either order: revoking the first would leave the user
 * holding a dead link (each address being added has its own). A "this wasn't me" link only ends sessions: each new-device mail's must work. Links that grant access (reset, magic link, setup, email change) and codes
 * supersede the earlier ones, so only the newest mail works.
 */
const KEEPS_EARLIER: ReadonlySet<TokenPurpose> = new Set<TokenPurpose>(["verify_email", "email_add", "disown_sign_in"]);

const tokens = singleUse(
  authTokens,
  {
    id: authTokens.id,
    expiresAt: authTokens.expiresAt,
    usedAt: authTokens.consumedAt,
    revokedAt: authTokens.revokedAt,
    attempts: authTokens.attempts,
  },
  { maxAttempts: MAX_CODE_ATTEMPTS },
);

/** Links and codes go a day after they expire, used or not: nothing reads them after that. */
export const oneTimeTokenSweeper = tokens.sweeper("auth.tokens", 86_400_000);

export function createOneTimeTokens(options: { clock: Clock; secret: string }): OneTimeTokens {
  const { clock } = options;
  const codeHash = (tokenId: string, code: string) => hmacSha256(options.secret, `code:${tokenId}:${code}`);

  async function revokeAll(db: Database, userId: UserId, purpose: TokenPurpose): Promise<void> {
    await tokens.revoke(db, clock.now(), and(eq(authTokens.userId, userId), eq(authTokens.purpose, purpose))!);
  }

  async function insert(
    db: Database,
    input: { userId: UserId; purpose: TokenPurpose; ttlMs: number; target?: string | null },
    hash: (id: string) => string,
  ): Promise<void> {
    if (!KEEPS_EARLIER.has(input.purpose)) await revokeAll(db, input.userId, input.purpose);
    const now = clock.now();
    const id = newId("token", now.getTime());
    await db.insert(authTokens).values({
      id,
      userId: input.userId,
      purpose: input.purpose,
      tokenHash: hash(id),
      target: input.target ?? null,
      expiresAt: new Date(now.getTime() + input.ttlMs),
      createdAt: now,
    });
  }

  async function findLink(db: Database, purpose: TokenPurpose, secret: string): Promise<TokenRow | undefined> {
    const hash = secretHash(secret);
    if (hash === undefined) return undefined;
    return tokens.find(db, clock.now(), and(eq(authTokens.tokenHash, hash), eq(authTokens.purpose, purpose))!);
  }

  return {
    revokeAll,

    async lastIssuedAt(db, userId, purpose) {
      const [row] = await db
        .select({ createdAt: authTokens.createdAt })
        .from(authTokens)
        .where(and(eq(authTokens.userId, userId), eq(authTokens.purpose, purpose)))
        .orderBy(desc(authTokens.createdAt))
        .limit(1);
      return row?.createdAt;
    },

    async issueLink(db, input) {
      const { secret, hash } = mintSecret();
      await insert(db, input, () => hash);
      return secret;
    },

    async issueCode(db, input) {
      const code = randomDigits(input.digits ?? 6);
      await insert(db, input, (id) => codeHash(id, code));
      return code;
    },

    findLink,

    async consumeLink(db, purpose, secret, lockOwner = (link) => lockUser(db, link.userId)) {
      const link = await findLink(db, purpose, secret);
      if (link === undefined) return undefined;
      await lockOwner(link);
      // Redeemed only if still live once the account is held (another use, a revocation or its
      // expiry may have come while it waited), at the time it is used.
      return tokens.redeem(db, clock.now(), eq(authTokens.id, link.id));
    },

    async consumeCode(db, input) {
      if (!/^\d{4,10}$/.test(input.code)) return undefined;
      await lockUser(db, input.userId);
      const now = clock.now();
      const conditions = [eq(authTokens.userId, input.userId), eq(authTokens.purpose, input.purpose)];
      if (input.target !== undefined)
        conditions.push(input.target === null ? isNull(authTokens.target) : eq(authTokens.target, input.target));
      // Only the newest live code is checked. Locked for the rest of the caller's transaction: parallel
      // guesses queue here, and each one sees the misses counted before it, so no more than the limit
      // are ever compared.
      const newest = await tokens.find(db, now, and(...conditions)!, { lock: true, newestBy: authTokens.createdAt });
      if (newest === undefined) return undefined;
      if (constantTimeEqual(newest.tokenHash, codeHash(newest.id, input.code)))
        return tokens.redeem(db, now, eq(authTokens.id, newest.id));
      // The miss that reaches the limit kills the code.
      await tokens.countMiss(db, now, newest.id);
      return undefined;
    },
  };
}
