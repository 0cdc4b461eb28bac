import { simpleParser, type ParsedMail } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface TestMailServer {
  /** Every message received, parsed, in arrival order. */
  received: ParsedMail[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /** `smtp://127.0.0.1:<port>`; the port stays the same across stop and start. */
  url(): string;
  /** The newest message to `to`, or undefined. */
  lastTo(to: string): ParsedMail | undefined;
  /**
   * The newest link carrying `?token=` mailed to `to` (and to `path`, when given). Mails sent in
   * one batch may arrive in any order, so the path tells them apart.
   */
  linkTo(to: string, path?: string): URL;
  /** Recipients the server refuses with a permanent 550 (as a server refusing a message would). */
  refuse: Set<string>;
  /**
   * Holds the next message: it is read, parsed and added to `received`, but the server does not
   * answer the DATA command until `release()` — the sender waits mid-send (a test kills or stops it
   * there). Resolves when that message has arrived.
   */
  holdNext(): Promise<HeldMail>;
  /**
   * Connection errors the server saw, such as a sender killed mid-send resetting its socket: a real
   * mail server shrugs them off, so they are kept here for a test to read instead of being thrown.
   */
  connectionErrors: Error[];
}

export interface HeldMail {
  mail: ParsedMail;
  /** Answers the held DATA command with 250: the sender's send completes. */
  release(): void;
}

/**
 * A real SMTP server (the `smtp-server` package) in this process, for tests that let Burrow deliver
 * mail and then read it. It can be stopped and started again on the same port to test retries.
 * @example const mail = createTestMailServer(); await mail.start(); … mail.lastTo("ada@example.com")?.text
 */
export function createTestMailServer(): TestMailServer {
  const received: ParsedMail[] = [];
  const refuse = new Set<string>();
  const holds: ((held: HeldMail) => void)[] = [];
  const connectionErrors: Error[] = [];
  let server: SMTPServer | undefined;
  let port = 0;
  return {
    received,
    refuse,
    connectionErrors,
    holdNext: () => new Promise<HeldMail>((resolve) => holds.push(resolve)),
    async start() {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ["STARTTLS"],
        logger: false,
        onRcptTo(address, _session, callback) {
          if (refuse.has(address.address.toLowerCase())) {
            const error = Object.assign(new Error("Mailbox unavailable"), { responseCode: 550 });
            callback(error);
            return;
          }
          callback();
        },
        onData(stream, _session, callback) {
          simpleParser(stream).then((mail) => {
            received.push(mail);
            const hold = holds.shift();
            if (hold === undefined) callback();
            else hold({ mail, release: () => callback() });
          }, callback);
        },
      });
      server.on("error", (error) => connectionErrors.push(error));
      await new Promise<void>((resolve) => server!.listen(port, "127.0.0.1", () => resolve()));
      port = (server.server.address() as { port: number }).port;
    },
    stop: () => new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve()))),
    url: () => `smtp://127.0.0.1:${port}`,
    lastTo(to) {
      return received.findLast(
        (mail) => (mail.to as { text?: string } | undefined)?.text?.toLowerCase() === to.toLowerCase(),
      );
    },
    linkTo(to, path) {
      for (const mail of [...received].reverse()) {
        if ((mail.to as { text?: string } | undefined)?.text?.toLowerCase() !== to.toLowerCase()) continue;
        const match = /(https?:\/\/[^\s)]+token=[A-Za-z0-9_-]+)/.exec(mail.text ?? "");
        if (match !== null && (path === undefined || new URL(match[1]!).pathname === path)) return new URL(match[1]!);
      }
      throw new Error(`no ${path ?? "token"} link mailed to ${to}`);
    },
  };
}
