// Standard Webhooks signatures: made by Burrow's sender, checked by receivers. This file imports
// nothing but node:crypto, so a receiver on Node.js 20 or Bun can use it alone
// (`@burrow/platform-ops/webhook-verify`).
import { createHmac, timingSafeEqual } from "node:crypto";

/** The Standard Webhooks signature of one message under one `whsec_` secret. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

export class WebhookVerificationError extends Error {
  override name = "WebhookVerificationError";
}

/** Older or newer than this is refused, so a captured message cannot be replayed later. */
const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/**
 * Checks a received webhook against the endpoint's secret (or both secrets while one rotates) and
 * returns its parsed body. Throws `WebhookVerificationError` for a missing header, a timestamp
 * outside the tolerance, or no matching signature.
 * @example
 * const event = verifyWebhook(process.env.BURROW_WEBHOOK_SECRET, { headers: request.headers, body: await request.text() });
 */
export function verifyWebhook(
  secret: string | readonly string[],
  message: { headers: Headers | Record<string, string | undefined>; body: string },
  options: { now?: Date; toleranceSeconds?: number } = {},
): { type: string; timestamp: string; data: Record<string, unknown> } {
  const header = (name: string): string => {
    const value = message.headers instanceof Headers ? message.headers.get(name) : (message.headers[name] ?? undefined);
    if (value === undefined || value === null || value === "") throw new WebhookVerificationError(`missing ${name}`);
    return value;
  };
  const id = header("webhook-id");
  const timestampText = header("webhook-timestamp");
  const presented = header("webhook-signature").split(" ");
  const timestamp = Number(timestampText);
  if (!/^\d{1,12}$/.test(timestampText)) throw new WebhookVerificationError("malformed webhook-timestamp");
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS))
    throw new WebhookVerificationError("webhook-timestamp is outside the tolerance");
  const secrets = typeof secret === "string" ? [secret] : secret;
  const matches = secrets.some((candidate) => {
    const expected = Buffer.from(signWebhook(candidate, id, timestamp, message.body));
    // Constant time per comparison: a partial match tells an attacker nothing.
    return presented.some((signature) => {
      const given = Buffer.from(signature);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  });
  if (!matches) throw new WebhookVerificationError("no signature matches");
  return JSON.parse(message.body) as { type: string; timestamp: string; data: Record<string, unknown> };
}
