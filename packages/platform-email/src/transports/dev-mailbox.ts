import type { Logger } from "@burrow/platform-core";
import type { EmailTransport } from "./transport.ts";

/**
 * The development mailbox, the default when no SMTP_URL is set outside production. Messages stay in
 * the outbox (the database); the console names each one with a link to the local mailbox page that
 * shows it, so a newcomer can click through sign-up. The console never carries the message's own
 * link or code: those are secrets, and logs are not the place for them.
 */
export function createDevMailbox(options: { log: Logger; mailboxUrl: string }): EmailTransport {
  return {
    name: "dev-mailbox",
    async send(email) {
      options.log.info("email delivered to the development mailbox", {
        to: email.to,
        subject: email.subject,
        open: `${options.mailboxUrl}/${email.id}`,
      });
      return { providerMessageId: `dev-${email.id}` };
    },
  };
}
