/** A rendered message ready to leave. */
export interface OutgoingEmail {
  /** The outbox id; transports pass it on (as Message-ID or an idempotency key) where they can. */
  id: string;
  from: string;
  to: string;
  subject: string;
  html: string;
  text: string;
}

/**
 * How mail leaves Burrow. Implement `send` for another provider (an HTTP API, say): resolve with the
 * provider's message id, throw to have the outbox retry with backoff.
 * @example const transport: EmailTransport = { name: "acme", send: async (email) => ({ providerMessageId: await acme.post(email) }) };
 */
export interface EmailTransport {
  name: string;
  send(email: OutgoingEmail): Promise<{ providerMessageId: string | null }>;
  close?(): Promise<void>;
}
