import { and, asc, eq, isNotNull, ne } from "drizzle-orm";
import {
  consumeRateLimit,
  isUniqueViolation,
  newId,
  PlatformError,
  type Database,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import { userPhones } from "../schema.ts";
import type { OneTimeTokens } from "../tokens/tokens.ts";
import { LIFETIMES } from "./lifetimes.ts";

export type PhoneRow = typeof userPhones.$inferSelect;

/** E.164: a plus, a country code not starting with 0, at most 15 digits in all. */
export const E164 = /^\+[1-9]\d{6,14}$/;

/** Codes by text: a burst of 3 per account, then one per 10 minutes (texts cost money and annoy). */
const TEXT_POLICY = { count: 3, windowMs: 10 * 60_000 };

export interface Phones {
  /** Texts a 6-digit code to the number (10 minutes, 5 tries); the number is added unverified. */
  add(userId: UserId, phone: string, request: RequestContext): Promise<PhoneRow>;
  verify(userId: UserId, phone: string, code: string, request: RequestContext): Promise<PhoneRow>;
  list(db: Database, userId: UserId): Promise<PhoneRow[]>;
  remove(userId: UserId, phoneId: string, request: RequestContext): Promise<void>;
}

export function createPhones(context: AuthContext, parts: { tokens: OneTimeTokens }): Phones {
  const { db, clock, audit, sms, config } = context;
  const { tokens } = parts;

  return {
    async add(userId, phone, request) {
      if (!E164.test(phone))
        throw new PlatformError("validation_failed", {
          errors: [{ path: "phone", message: "Must be an E.164 number such as +14155550123" }],
        });
      const limit = await consumeRateLimit(db, clock, `text:phone_verify:${userId}`, TEXT_POLICY);
      if (!limit.allowed)
        throw new PlatformError("rate_limited", {
          headers: { "Retry-After": String(Math.ceil(limit.retryAfterMs / 1000)) },
        });
      return db.transaction(async (tx) => {
        const now = clock.now();
        await tx
          .insert(userPhones)
          .values({ id: newId("phone", now.getTime()), userId, phone, createdAt: now })
          .onConflictDoNothing();
        const [row] = await tx
          .select()
          .from(userPhones)
          .where(and(eq(userPhones.userId, userId), eq(userPhones.phone, phone)));
        const code = await tokens.issueCode(tx, {
          userId,
          purpose: "phone_verify",
          ttlMs: LIFETIMES.emailCode,
          target: phone,
        });
        await sms.queue(tx, {
          to: phone,
          body: `${config.email.productName} verification code: ${code}. It expires in 10 minutes. Do not share it.`,
        });
        await audit.recordByUser(tx, userId, "user.phone_added", request);
        return row!;
      });
    },

    async verify(userId, phone, code, request) {
      let verified: PhoneRow | undefined;
      try {
        verified = await db.transaction(async (tx) => {
          const used = await tokens.consumeCode(tx, { userId, purpose: "phone_verify", code, target: phone });
          // Return rather than throw: the miss just counted must commit, or the 5-try limit never bites.
          if (used === undefined) return undefined;
          const [owner] = await tx
            .select({ id: userPhones.id })
            .from(userPhones)
            .where(and(eq(userPhones.phone, phone), isNotNull(userPhones.verifiedAt), ne(userPhones.userId, userId)));
          if (owner !== undefined)
            throw new PlatformError("phone_taken", { detail: "This number is verified on another account." });
          const hasPrimary =
            (
              await tx
                .select({ id: userPhones.id })
                .from(userPhones)
                .where(and(eq(userPhones.userId, userId), eq(userPhones.isPrimary, true)))
            ).length > 0;
          const [row] = await tx
            .update(userPhones)
            .set({ verifiedAt: clock.now(), isPrimary: hasPrimary ? undefined : true })
            .where(and(eq(userPhones.userId, userId), eq(userPhones.phone, phone)))
            .returning();
          await audit.recordByUser(tx, userId, "user.phone_verified", request);
          return row!;
        });
      } catch (error) {
        // The code was right but another account verified the number at the same moment.
        if (isUniqueViolation(error))
          throw new PlatformError("phone_taken", { detail: "This number is verified on another account." });
        throw error;
      }
      if (verified === undefined) throw new PlatformError("invalid_code");
      return verified;
    },

    list: (tx, userId) =>
      tx.select().from(userPhones).where(eq(userPhones.userId, userId)).orderBy(asc(userPhones.createdAt)),

    async remove(userId, phoneId, request) {
      const removed = await db.transaction(async (tx) => {
        const rows = await tx
          .delete(userPhones)
          .where(and(eq(userPhones.id, phoneId), eq(userPhones.userId, userId)))
          .returning({ id: userPhones.id });
        if (rows.length > 0) await audit.recordByUser(tx, userId, "user.phone_removed", request);
        return rows.length;
      });
      if (removed === 0) throw new PlatformError("not_found");
    },
  };
}
