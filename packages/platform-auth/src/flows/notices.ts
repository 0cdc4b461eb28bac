import { consumeRateLimit, type Clock, type Config, type Database, type UserId } from "@burrow/platform-core";
import type { AuthMailer } from "../context.ts";
import type { OneTimeTokens } from "../tokens/tokens.ts";
import { normalizeEmail } from "../users/users.ts";
import { LIFETIMES } from "./lifetimes.ts";
import { buildLink } from "./links.ts";

/** A sign-in before the address is proven sends the link again only this long after the last one. */
export const VERIFICATION_RESEND_COOLDOWN_MS = 60_000;
/** …and then at most a burst of 3, then one per 10 minutes. */
const RESEND_POLICY = { count: 3, windowMs: 10 * 60_000 };

/** The mails auth sends about an account, each queued in the caller's transaction. */
export interface Notices {
  /** Mails a verification link bound to the user's current address. */
  sendVerification(db: Database, user: { id: string; email: string }): Promise<void>;
  /**
   * Mails the verification link again for a sign-in attempt, unless one went out in the last
   * minute (the first may still be on its way) or the burst allowance is spent. True when it did.
   */
  resendVerification(db: Database, user: { id: string; email: string }): Promise<boolean>;
  sendExistingAccountNotice(db: Database, user: { email: string }): Promise<void>;
  sendPasswordChanged(db: Database, user: { email: string }): Promise<void>;
  sendAccountSetup(db: Database, user: { id: string; email: string }): Promise<void>;
  /**
   * An account-setup link (72 hours, once) for the operator to hand over themselves: how a fresh
   * install's first administrator gets in (`burrow create-admin`). Revokes earlier set-up links.
   */
  accountSetupLink(db: Database, user: { id: string }): Promise<string>;
  /** Tells the user of a sign-in from a new device, with a "this wasn't me" link that ends every session. */
  sendNewSignIn(db: Database, user: { id: string; email: string }, device: string): Promise<void>;
}

export function createNotices(options: {
  config: Config;
  clock: Clock;
  email: AuthMailer;
  tokens: OneTimeTokens;
}): Notices {
  const { config, clock, email, tokens } = options;

  async function accountSetupLink(db: Database, user: { id: string }): Promise<string> {
    const secret = await tokens.issueLink(db, {
      userId: user.id as UserId,
      purpose: "account_setup",
      ttlMs: LIFETIMES.accountSetup,
    });
    return buildLink(config, "/auth/account-setup", { token: secret });
  }

  async function sendVerification(db: Database, user: { id: string; email: string }): Promise<void> {
    // Bound to the address it was sent to: it proves nothing about an address set later.
    const secret = await tokens.issueLink(db, {
      userId: user.id as UserId,
      purpose: "verify_email",
      ttlMs: LIFETIMES.verifyEmail,
      target: normalizeEmail(user.email),
    });
    await email.queue(db, {
      to: user.email,
      template: "auth.verify_email",
      variables: { url: buildLink(config, "/auth/verify-email", { token: secret }) },
    });
  }

  return {
    sendVerification,
    async resendVerification(db, user) {
      const last = await tokens.lastIssuedAt(db, user.id as UserId, "verify_email");
      if (last !== undefined && clock.now().getTime() - last.getTime() < VERIFICATION_RESEND_COOLDOWN_MS) return false;
      if (!(await consumeRateLimit(db, clock, `verify-resend:${user.id}`, RESEND_POLICY)).allowed) return false;
      await sendVerification(db, user);
      return true;
    },
    async sendExistingAccountNotice(db, user) {
      await email.queue(db, {
        to: user.email,
        template: "auth.sign_up_existing_account",
        variables: { url: buildLink(config, "/auth/forgot-password", {}) },
      });
    },
    async sendPasswordChanged(db, user) {
      await email.queue(db, { to: user.email, template: "auth.password_changed", variables: {} });
    },
    accountSetupLink,
    async sendNewSignIn(db, user, device) {
      const secret = await tokens.issueLink(db, {
        userId: user.id as UserId,
        purpose: "disown_sign_in",
        ttlMs: LIFETIMES.disownSignIn,
      });
      await email.queue(db, {
        to: user.email,
        template: "auth.new_sign_in",
        variables: {
          device,
          time: clock.now().toISOString().slice(0, 16).replace("T", " "),
          url: buildLink(config, "/auth/not-me", { token: secret }),
        },
      });
    },
    async sendAccountSetup(db, user) {
      await email.queue(db, {
        to: user.email,
        template: "auth.account_setup",
        variables: { url: await accountSetupLink(db, user) },
      });
    },
  };
}
