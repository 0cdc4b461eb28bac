import type { Transporter } from "nodemailer";
import type { EmailTransport } from "./transport.ts";

/**
 * SMTP through nodemailer (`SMTP_URL`, for example `smtp://user:pass@mail.example.com:587`).
 * Timeouts are short: a hung server should fail the attempt and let the outbox retry later, not
 * hold a worker.
 */
export function createSmtpTransport(url: string, options: { timeoutMs?: number } = {}): EmailTransport {
  const timeout = options.timeoutMs ?? 15_000;
  // nodemailer (about 20 MB resident) is loaded with the first message, not by every process that could send one.
  let transporter: Promise<Transporter> | undefined;
  const connect = () =>
    (transporter ??= import("nodemailer").then(({ default: nodemailer }) =>
      nodemailer.createTransport({ url, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout }),
    ));
  return {
    name: "smtp",
    async send(email) {
      const info = await (await connect()).sendMail({
        from: email.from,
        to: email.to,
        subject: email.subject,
        html: email.html,
        text: email.text,
        headers: { "X-Burrow-Message-Id": email.id },
      });
      return { providerMessageId: info.messageId ?? null };
    },
    async close() {
      if (transporter !== undefined) (await transporter).close();
    },
  };
}
