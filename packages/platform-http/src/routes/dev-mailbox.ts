import { Hono } from "hono";
import { escapeHtml } from "@burrow/platform-email";
import { isId, PlatformError } from "@burrow/platform-core";
import { type Platform } from "../compose/platform.ts";
import { type AppEnv } from "../env.ts";
import { CONTENT_SECURITY_POLICIES } from "../security-headers/index.ts";

/**
 * The development mailbox's pages: the newest messages, each message as the recipient would see it
 * (links clickable), and the development text messages. Mounted only outside production while the development mailbox is the
 * transport — the server then listens on 127.0.0.1 only.
 */
export function devMailboxRoutes(platform: Platform): Hono<AppEnv> {
  const page = (title: string, body: string) =>
    `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>body{font:15px system-ui,sans-serif;margin:2rem;color:#1f2937}table{border-collapse:collapse}td,th{padding:.4rem .8rem;border-bottom:1px solid #e5e7eb;text-align:left}</style></head><body>${body}</body></html>`;
  return new Hono<AppEnv>()
    .use("/dev/*", async (c, next) => {
      await next();
      // The messages carry inline styles; nothing else is allowed to load.
      c.header("Content-Security-Policy", CONTENT_SECURITY_POLICIES.devMailbox);
      c.header("Cache-Control", "no-store");
    })
    .get("/dev/mailbox", async (c) => {
      const messages = await platform.email.outbox.list(platform.db, { limit: 100 });
      const rows = messages
        .map(
          (message) =>
            `<tr><td>${message.createdAt.toISOString()}</td><td>${escapeHtml(message.to)}</td><td><a href="mailbox/${message.id}">${escapeHtml(message.subject)}</a></td><td>${message.status}</td></tr>`,
        )
        .join("");
      return c.html(
        page(
          "Development mailbox",
          `<h1>Development mailbox</h1><p>Mail Burrow would have sent. Set SMTP_URL to send it for real.</p><table><tr><th>Queued</th><th>To</th><th>Subject</th><th>Status</th></tr>${rows}</table>`,
        ),
      );
    })
    .get("/dev/sms", (c) => {
      const transport = platform.email.smsTransport as { messages?: { to: string; body: string; at: Date }[] };
      const rows = (transport.messages ?? [])
        .map(
          (sms) =>
            `<tr><td>${sms.at.toISOString()}</td><td>${escapeHtml(sms.to)}</td><td>${escapeHtml(sms.body)}</td></tr>`,
        )
        .join("");
      return c.html(
        page(
          "Development text messages",
          `<h1>Development text messages</h1><p>Texts Burrow would have sent, newest first (kept in memory). Configure Twilio to send them for real.</p><table><tr><th>Sent</th><th>To</th><th>Text</th></tr>${rows}</table>`,
        ),
      );
    })
    .get("/dev/mailbox/:messageId", async (c) => {
      const id = c.req.param("messageId");
      if (!isId("message", id)) throw new PlatformError("invalid_id");
      const message = await platform.email.outbox.get(platform.db, id);
      if (message === undefined) throw new PlatformError("not_found");
      return c.html(message.html);
    });
}
