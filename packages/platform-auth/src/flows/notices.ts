import type { Config, Database, UserId } from "@burrow/platform-core";
import type { AuthMailer } from "../context.ts";
import type { OneTimeTokens } from "../tokens/tokens.ts";
import { LIFETIMES } from "./lifetimes.ts";
import { buildLink } from "./links.ts";

/** The mails auth sends about an account, each queued in the caller's transaction. */
export interface Notices {
  sendVerification(db: Database, user: { id: string; email: string }): Promise<void>;
  sendExistingAccountNotice(db: Database, user: { email: string }): Promise<void>;
  sendPasswordChanged(db: Database, user: { email: string }): Promise<void>;
  sendAccountSetup(db: Database, user: { id: string; email: string }): Promise<void>;
}

export function createNotices(options: { config: Config; email: AuthMailer; tokens: OneTimeTokens }): Notices {
  const { config, email, tokens } = options;
  return {
    async sendVerification(db, user) {
      const secret = await tokens.issueLink(db, { userId: user.id as UserId, purpose: "verify_email", ttlMs: LIFETIMES.verifyEmail });
      await email.queue(db, { to: user.email, template: "auth.verify_email", variables: { url: buildLink(config, "/auth/verify-email", { token: secret }) } });
    },
    async sendExistingAccountNotice(db, user) {
      await email.queue(db, { to: user.email, template: "auth.sign_up_existing_account", variables: { url: buildLink(config, "/auth/forgot-password", {}) } });
    },
    async sendPasswordChanged(db, user) {
      await email.queue(db, { to: user.email, template: "auth.password_changed", variables: {} });
    },
    async sendAccountSetup(db, user) {
      const secret = await tokens.issueLink(db, { userId: user.id as UserId, purpose: "account_setup", ttlMs: LIFETIMES.accountSetup });
      await email.queue(db, { to: user.email, template: "auth.account_setup", variables: { url: buildLink(config, "/auth/account-setup", { token: secret }) } });
    },
  };
}
