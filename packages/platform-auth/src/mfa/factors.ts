import { and, asc, eq, isNotNull, isNull, sql, type SQL, type SQLWrapper } from "drizzle-orm";
import {
  newId,
  PlatformError,
  qualified,
  type Database,
  type KeyRing,
  type RequestContext,
  type UserId,
  type AuditAction,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import { mfaFactors, mfaRecoveryCodes, users } from "../schema.ts";
import { lockUser } from "../users/users.ts";
import { checkTotp, newTotpSecret, totpUri } from "./totp.ts";
import type { SessionRow, Sessions } from "../sessions/sessions.ts";

export type FactorRow = typeof mfaFactors.$inferSelect;

const RECOVERY_CODE_COUNT = 10;
/** Crockford-style alphabet without look-alikes, for codes people copy by hand. */
const CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz";

function randomCodePart(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
  let out = "";
  for (const byte of bytes) {
    // 31 symbols: reject the top of the byte range so every symbol is equally likely.
    if (byte >= 248) continue;
    out += CODE_ALPHABET[byte % 31];
    if (out.length === length) break;
  }
  return out.length === length ? out : randomCodePart(length);
}

/**
 * `count` different lookup parts. Lookups are unique per user, so a repeated draw would lose a code
 * the user was shown: draw again until they differ.
 */
export function distinctLookups(count: number, draw: () => string): Set<string> {
  const lookups = new Set<string>();
  while (lookups.size < count) lookups.add(draw());
  return lookups;
}

/**
 * Recovery codes made but not yet stored: the slow part (10 Argon2id hashes), done before any lock is
 * taken. `codes` are what the user is shown, `rows` what is stored.
 */
export interface RecoveryCodeDraft {
  codes: string[];
  rows: { lookup: string; secretHash: string }[];
}

// Every change to a user's factors and recovery codes takes the account's lock first (`lockUser`),
// so that they run one after another per user: otherwise two confirmations would each see "no factor
// yet" and each hand out codes, and two regenerations would each delete the codes before either had
// stored its own and leave both sets live.

/**
 * Changes to a user's own factors take the caller's session, not a user id: each one needs a recent
 * authentication on it (step-up), checked here so every caller gets the same rule.
 */
export interface Factors {
  enrollTotp(
    session: SessionRow,
    label: string,
    request: RequestContext,
  ): Promise<{ factorId: string; secret: string; otpauthUrl: string; qrSvg: string }>;
  /** Activates an enrolled TOTP factor; returns recovery codes when it is the user's first factor. */
  confirmTotp(
    session: SessionRow,
    factorId: string,
    code: string,
    request: RequestContext,
  ): Promise<{ recoveryCodes: string[] | null; sessionToken: string | null }>;
  remove(session: SessionRow, factorId: string, request: RequestContext): Promise<void>;
  /**
   * An operator removes a factor of the user (one who lost their phone): the user is mailed, the
   * entry names the operator. The MFA policy does not hold it back: a user it covers is asked to
   * enrol again at their next sign-in. The operator's step-up is the caller's to check.
   */
  removeByOperator(userId: UserId, factorId: string, operatorId: string, request: RequestContext): Promise<void>;
  list(db: Database, userId: UserId): Promise<FactorRow[]>;
  /** The second-factor methods the user can use now (empty when MFA is off for them). */
  methods(db: Database, userId: string): Promise<("totp" | "passkey" | "recovery_code")[]>;
  /**
   * After a factor becomes active: recovery codes if it is the first, the email and the audit entry.
   * The caller holds the account's lock (`lockUser`) and decided `first` under it. `sessionId`: the session
   * enrolling; when the policy held it back it gets a new token, returned. `recoveryCodes`: codes
   * drafted before the lock (else they are made here).
   */
  factorAdded(
    tx: Database,
    userId: string,
    change: string,
    factorId: string,
    request: RequestContext,
    options: { first: boolean; sessionId?: string; recoveryCodes?: RecoveryCodeDraft },
  ): Promise<{ recoveryCodes: string[] | null; sessionToken: string | null }>;
  /** Checks a TOTP code against the user's confirmed factors, burning the step on success. */
  verifyTotp(db: Database, userId: string): (code: string) => Promise<boolean>;
  /** Uses a recovery code once. */
  useRecoveryCode(db: Database, userId: string, code: string, request: RequestContext): Promise<boolean>;
  regenerateRecoveryCodes(session: SessionRow, request: RequestContext): Promise<string[]>;
}

const confirmed = (userId: string) => and(eq(mfaFactors.userId, userId), isNotNull(mfaFactors.confirmedAt));

/**
 * The second-factor methods a user can use now: empty when they have none confirmed. A read of auth's
 * own table, needing no service, so that another package (rbac's elevation rules) can ask it.
 */
export async function secondFactorMethods(
  db: Database,
  userId: string,
): Promise<("totp" | "passkey" | "recovery_code")[]> {
  const rows = await db.select({ type: mfaFactors.type }).from(mfaFactors).where(confirmed(userId));
  return methodsOf(rows.map((row) => row.type));
}

/**
 * The types of a user's confirmed factors, comma-separated, as a column of a larger select (`userId`
 * an expression of it), so a check reads them in the same statement as what it checks. `methodsOf`
 * reads the answer.
 */
export const confirmedFactorTypes = (userId: SQLWrapper): SQL<string> =>
  sql<string>`array_to_string(array(select ${qualified(mfaFactors.type)} from ${mfaFactors} where ${qualified(mfaFactors.userId)} = ${qualified(userId)} and ${qualified(mfaFactors.confirmedAt)} is not null), ',')`;

/** The methods confirmed factors of these types give (a list, or `confirmedFactorTypes`' text). */
export function methodsOf(types: readonly string[] | string): ("totp" | "passkey" | "recovery_code")[] {
  const list = typeof types === "string" ? types.split(",").filter((type) => type !== "") : types;
  if (list.length === 0) return [];
  const methods: ("totp" | "passkey" | "recovery_code")[] = [];
  if (list.includes("totp")) methods.push("totp");
  if (list.includes("passkey")) methods.push("passkey");
  methods.push("recovery_code");
  return methods;
}

export function createFactors(context: AuthContext & { keyRing: KeyRing; sessions: Sessions }): Factors {
  const { db, clock, audit, keyRing, hasher, config } = context;
  const aad = (factorId: string) => `totp:${factorId}`;

  /** Removes a factor: the user's own removal (under the policy), or an operator's (`operatorId`). */
  async function removeFactor(
    userId: UserId,
    factorId: string,
    request: RequestContext,
    operatorId: string | null,
  ): Promise<void> {
    await db.transaction(async (tx) => {
      // One change at a time per user: two removals at once would each see the other's factor left.
      await lockUser(tx, userId);
      const removed = await tx
        .delete(mfaFactors)
        .where(and(eq(mfaFactors.id, factorId), eq(mfaFactors.userId, userId)))
        .returning();
      if (removed.length === 0) throw new PlatformError("not_found");
      const remaining = (await tx.select({ id: mfaFactors.id }).from(mfaFactors).where(confirmed(userId))).length;
      // Rolled back by the throw: policy keeps at least one factor (an operator's removal aside).
      if (
        operatorId === null &&
        remaining === 0 &&
        removed[0]!.confirmedAt !== null &&
        (await context.requiresMfa(tx, userId))
      )
        throw new PlatformError("mfa_required_by_policy", {
          detail: "Your account must keep a second factor. Add another before removing this one.",
        });
      // Without any factor left, recovery codes would be a second way in to nothing: drop them.
      if (remaining === 0) await tx.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId));
      if (removed[0]!.confirmedAt !== null)
        await notifyChange(
          tx,
          userId,
          `${removed[0]!.type === "passkey" ? "a passkey was removed" : "an authenticator app was removed"}${operatorId === null ? "" : " by an administrator"}`,
          "mfa.factor_removed",
          request,
          factorId,
          operatorId ?? userId,
        );
    });
  }

  async function notifyChange(
    tx: Database,
    userId: string,
    change: string,
    action: AuditAction,
    request: RequestContext,
    factorId?: string,
    actorId: string = userId,
  ): Promise<void> {
    const [user] = await tx.select({ email: users.email }).from(users).where(eq(users.id, userId));
    if (user !== undefined)
      await context.email.queue(tx, { to: user.email, template: "security.mfa_changed", variables: { change } });
    await audit.record(
      tx,
      {
        action,
        actor: { type: "user", id: actorId },
        target: factorId === undefined ? { type: "user", id: userId } : { type: "mfa_factor", id: factorId },
      },
      request,
    );
  }

  async function draftRecoveryCodes(): Promise<RecoveryCodeDraft> {
    const codes: string[] = [];
    const rows: RecoveryCodeDraft["rows"] = [];
    for (const lookup of distinctLookups(RECOVERY_CODE_COUNT, () => randomCodePart(4))) {
      const secret = randomCodePart(8);
      codes.push(`${lookup}-${secret.slice(0, 4)}-${secret.slice(4)}`);
      rows.push({ lookup, secretHash: await hasher.hash(secret) });
    }
    return { codes, rows };
  }

  /** Replaces the user's recovery codes with the draft's; the caller holds the account's lock. */
  async function storeRecoveryCodes(tx: Database, userId: string, draft: RecoveryCodeDraft): Promise<string[]> {
    await tx.delete(mfaRecoveryCodes).where(eq(mfaRecoveryCodes.userId, userId));
    const now = clock.now();
    await tx
      .insert(mfaRecoveryCodes)
      .values(draft.rows.map((row) => ({ id: newId("recoveryCode", now.getTime()), userId, ...row, createdAt: now })));
    return draft.codes;
  }

  async function factorAdded(
    tx: Database,
    userId: string,
    change: string,
    factorId: string,
    request: RequestContext,
    options: { first: boolean; sessionId?: string; recoveryCodes?: RecoveryCodeDraft },
  ): Promise<{ recoveryCodes: string[] | null; sessionToken: string | null }> {
    const recoveryCodes = options.first
      ? await storeRecoveryCodes(tx, userId, options.recoveryCodes ?? (await draftRecoveryCodes()))
      : null;
    await notifyChange(tx, userId, change, "mfa.factor_added", request, factorId);
    // Enrolment done: sessions held back by the MFA policy become full sessions.
    const { lifted, token } = await context.sessions.liftRestriction(tx, userId, options.sessionId);
    if (lifted > 0) await audit.recordByUser(tx, userId, "mfa.policy_enrolled", request);
    return { recoveryCodes, sessionToken: token };
  }

  return {
    factorAdded,
    async enrollTotp(session, label, request) {
      context.sessions.assertRecent(session);
      const userId = session.userId as UserId;
      const [user] = await db.select({ email: users.email }).from(users).where(eq(users.id, userId));
      if (user === undefined) throw new PlatformError("unauthenticated");
      const secret = await newTotpSecret();
      const now = clock.now();
      const factorId = newId("factor", now.getTime());
      await db.transaction(async (tx) => {
        // Not for an account deleted at the same moment (the request was authenticated just before).
        if ((await lockUser(tx, userId)) === undefined) throw new PlatformError("unauthenticated");
        await tx.insert(mfaFactors).values({
          id: factorId,
          userId,
          type: "totp",
          label,
          createdAt: now,
          totpSecretEncrypted: keyRing.encrypt(secret, aad(factorId)),
        });
        await audit.record(
          tx,
          {
            action: "mfa.factor_enrolled",
            actor: { type: "user", id: userId },
            target: { type: "mfa_factor", id: factorId },
            metadata: { type: "totp" },
          },
          request,
        );
      });
      const otpauthUrl = await totpUri({ issuer: config.email.productName, account: user.email, secret });
      const qrSvg = await (await import("qrcode")).default.toString(otpauthUrl, {
        type: "svg",
        errorCorrectionLevel: "M",
        margin: 2,
      });
      return { factorId, secret, otpauthUrl, qrSvg };
    },

    async confirmTotp(session, factorId, code, request) {
      context.sessions.assertRecent(session);
      const userId = session.userId as UserId;
      const epochSeconds = Math.floor(clock.now().getTime() / 1000);
      const factorOf = (tx: Database) =>
        tx
          .select()
          .from(mfaFactors)
          .where(and(eq(mfaFactors.id, factorId), eq(mfaFactors.userId, userId), eq(mfaFactors.type, "totp")));
      /** The step `code` passes on the factor as read; throws for a factor gone or already confirmed. */
      const checkCode = async (factor: FactorRow | undefined): Promise<number | undefined> => {
        if (factor === undefined) throw new PlatformError("not_found");
        if (factor.confirmedAt !== null)
          throw new PlatformError("factor_already_confirmed", { detail: "This factor is already confirmed." });
        return checkTotp({
          secret: keyRing.decrypt(factor.totpSecretEncrypted!, aad(factor.id)),
          code,
          epochSeconds,
          lastStep: factor.totpLastStep,
        });
      };

      // A first check without any lock, so wrong codes and repeats cost no lock and no hashing.
      const [unlocked] = await factorOf(db);
      if ((await checkCode(unlocked)) !== undefined) {
        // Codes for a first factor are hashed before the lock; under it, `first` is decided again.
        const looksFirst =
          (await db.select({ id: mfaFactors.id }).from(mfaFactors).where(confirmed(userId))).length === 0;
        const recoveryCodes = looksFirst ? await draftRecoveryCodes() : undefined;
        const confirmedNow = await db.transaction(async (tx) => {
          // Under the user's lock, the factor is read again: of confirmations racing, the first to take
          // it confirms and the rest find it confirmed (409), as they would one after another.
          await lockUser(tx, userId);
          const [factor] = await factorOf(tx);
          const step = await checkCode(factor);
          if (factor === undefined || step === undefined) return undefined;
          const first = (await tx.select({ id: mfaFactors.id }).from(mfaFactors).where(confirmed(userId))).length === 0;
          // Still conditional on what was read, so a step is never spent twice however this is called.
          const [updated] = await tx
            .update(mfaFactors)
            .set({ confirmedAt: clock.now(), totpLastStep: step, lastUsedAt: clock.now() })
            .where(
              and(
                eq(mfaFactors.id, factorId),
                isNull(mfaFactors.confirmedAt),
                factor.totpLastStep === null
                  ? isNull(mfaFactors.totpLastStep)
                  : eq(mfaFactors.totpLastStep, factor.totpLastStep),
              ),
            )
            .returning({ id: mfaFactors.id });
          if (updated === undefined)
            throw new PlatformError("factor_already_confirmed", { detail: "This factor is already confirmed." });
          return factorAdded(tx, userId, "an authenticator app was added", factorId, request, {
            first,
            sessionId: session.id,
            ...(recoveryCodes === undefined ? {} : { recoveryCodes }),
          });
        });
        if (confirmedNow !== undefined) return confirmedNow;
      }
      // Recorded outside any transaction that rolls back, so the failure stays on the record.
      await audit.record(
        db,
        {
          action: "mfa.factor_failed",
          actor: { type: "user", id: userId },
          target: { type: "mfa_factor", id: factorId },
          outcome: "failure",
        },
        request,
      );
      throw new PlatformError("invalid_code");
    },

    async remove(session, factorId, request) {
      context.sessions.assertRecent(session);
      await removeFactor(session.userId as UserId, factorId, request, null);
    },

    removeByOperator: (userId, factorId, operatorId, request) => removeFactor(userId, factorId, request, operatorId),

    list: (tx, userId) =>
      tx.select().from(mfaFactors).where(eq(mfaFactors.userId, userId)).orderBy(asc(mfaFactors.createdAt)),

    methods: secondFactorMethods,

    verifyTotp: (tx, userId) => async (code) => {
      const rows = await tx
        .select()
        .from(mfaFactors)
        .where(and(confirmed(userId), eq(mfaFactors.type, "totp")));
      const epochSeconds = Math.floor(clock.now().getTime() / 1000);
      for (const factor of rows) {
        const step = await checkTotp({
          secret: keyRing.decrypt(factor.totpSecretEncrypted!, aad(factor.id)),
          code,
          epochSeconds,
          lastStep: factor.totpLastStep,
        });
        if (step === undefined) continue;
        // Burn the step atomically: two requests with one code cannot both pass.
        const [burned] = await tx
          .update(mfaFactors)
          .set({ totpLastStep: step, lastUsedAt: clock.now() })
          .where(
            and(
              eq(mfaFactors.id, factor.id),
              factor.totpLastStep === null
                ? isNull(mfaFactors.totpLastStep)
                : eq(mfaFactors.totpLastStep, factor.totpLastStep),
            ),
          )
          .returning({ id: mfaFactors.id });
        if (burned !== undefined) return true;
      }
      return false;
    },

    async useRecoveryCode(tx, userId, code, request) {
      const match = /^([2-9a-hj-km-np-z]{4})-([2-9a-hj-km-np-z]{4})-?([2-9a-hj-km-np-z]{4})$/.exec(
        code.trim().toLowerCase(),
      );
      if (match === null) return false;
      const [row] = await tx
        .select()
        .from(mfaRecoveryCodes)
        .where(
          and(
            eq(mfaRecoveryCodes.userId, userId),
            eq(mfaRecoveryCodes.lookup, match[1]!),
            isNull(mfaRecoveryCodes.usedAt),
          ),
        );
      if (row === undefined || !(await hasher.verify(`${match[2]}${match[3]}`, row.secretHash))) return false;
      const [used] = await tx
        .update(mfaRecoveryCodes)
        .set({ usedAt: clock.now() })
        .where(and(eq(mfaRecoveryCodes.id, row.id), isNull(mfaRecoveryCodes.usedAt)))
        .returning();
      if (used === undefined) return false;
      await notifyChange(tx, userId, "a recovery code was used to sign in", "mfa.recovery_code_used", request);
      return true;
    },

    async regenerateRecoveryCodes(session, request) {
      context.sessions.assertRecent(session);
      const userId = session.userId as UserId;
      const assertSecondFactor = async (tx: Database) => {
        if ((await tx.select({ id: mfaFactors.id }).from(mfaFactors).where(confirmed(userId))).length === 0)
          throw new PlatformError("second_factor_missing", { detail: "Recovery codes need a second factor first." });
      };
      await assertSecondFactor(db);
      const draft = await draftRecoveryCodes();
      return db.transaction(async (tx) => {
        // Regenerations at once run one after another: each replaces the set before it, so the last
        // one handed out is the only live set.
        await lockUser(tx, userId);
        await assertSecondFactor(tx);
        const codes = await storeRecoveryCodes(tx, userId, draft);
        await notifyChange(
          tx,
          userId,
          "new recovery codes were made; the old ones no longer work",
          "mfa.recovery_codes_regenerated",
          request,
        );
        return codes;
      });
    },
  };
}
