import { and, desc, eq, gt, isNull, lt, sql } from "drizzle-orm";
import {
  constantTimeEqual,
  hmacSha256,
  newId,
  randomDigits,
  randomToken,
  sha256,
  type Clock,
  type Database,
  type UserId,
} from "@burrow/platform-core";
import { authTokens, type TokenPurpose } from "../schema.ts";

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
   * Uses a link secret once. Undefined when it is unknown, of another purpose, used, revoked or
   * expired — one answer for all, and two racing uses cannot both succeed.
   */
  consumeLink(db: Database, purpose: TokenPurpose, secret: string): Promise<TokenRow | undefined>;
  /** Checks a code for the user's newest live one; a wrong guess counts, the fifth kills it. Call it in a transaction: the row is locked. */
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
 * holding a dead link. Links that grant access (reset, magic link, setup, email change) and codes
 * supersede the earlier ones, so only the newest mail works.
 */
const KEEPS_EARLIER: ReadonlySet<TokenPurpose> = new Set<TokenPurpose>(["verify_email"]);

export function createOneTimeTokens(options: { clock: Clock; secret: string }): OneTimeTokens {
  const { clock } = options;
  const codeHash = (tokenId: string, code: string) => hmacSha256(options.secret, `code:${tokenId}:${code}`);

  async function revokeAll(db: Database, userId: UserId, purpose: TokenPurpose): Promise<void> {
    await db
      .update(authTokens)
      .set({ revokedAt: clock.now() })
      .where(
        and(
          eq(authTokens.userId, userId),
          eq(authTokens.purpose, purpose),
          isNull(authTokens.consumedAt),
          isNull(authTokens.revokedAt),
        ),
      );
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

  const live = (now: Date) =>
    and(isNull(authTokens.consumedAt), isNull(authTokens.revokedAt), gt(authTokens.expiresAt, now));

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
      const secret = randomToken(32);
      await insert(db, input, () => sha256(secret));
      return secret;
    },

    async issueCode(db, input) {
      const code = randomDigits(input.digits ?? 6);
      await insert(db, input, (id) => codeHash(id, code));
      return code;
    },

    async consumeLink(db, purpose, secret) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
      const now = clock.now();
      const [row] = await db
        .update(authTokens)
        .set({ consumedAt: now })
        .where(and(eq(authTokens.tokenHash, sha256(secret)), eq(authTokens.purpose, purpose), live(now)))
        .returning();
      return row;
    },

    async consumeCode(db, input) {
      if (!/^\d{4,10}$/.test(input.code)) return undefined;
      const now = clock.now();
      const conditions = [
        eq(authTokens.userId, input.userId),
        eq(authTokens.purpose, input.purpose),
        live(now),
        lt(authTokens.attempts, MAX_CODE_ATTEMPTS),
      ];
      if (input.target !== undefined)
        conditions.push(input.target === null ? isNull(authTokens.target) : eq(authTokens.target, input.target));
      // Locked for the rest of the caller's transaction: parallel guesses queue here, and each one
      // sees the attempts counted by those before it, so no more than the limit are ever compared.
      const [row] = await db
        .select()
        .from(authTokens)
        .where(and(...conditions))
        .orderBy(desc(authTokens.createdAt))
        .limit(1)
        .for("update");
      if (row === undefined) return undefined;
      if (constantTimeEqual(row.tokenHash, codeHash(row.id, input.code))) {
        const [used] = await db
          .update(authTokens)
          .set({ consumedAt: now })
          .where(and(eq(authTokens.id, row.id), live(now)))
          .returning();
        return used;
      }
      // The miss that reaches the limit kills the code.
      await db
        .update(authTokens)
        .set({
          attempts: sql`${authTokens.attempts} + 1`,
          revokedAt: sql`case when ${authTokens.attempts} + 1 >= ${MAX_CODE_ATTEMPTS} then ${now.toISOString()}::timestamptz else ${authTokens.revokedAt} end`,
        })
        .where(eq(authTokens.id, row.id));
      return undefined;
    },
  };
}
