import { writeSync } from "node:fs";

/** Structured JSON-line logging. Callers never pass a password, token, code or key. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

let stderrWriter: ((line: string) => void) | undefined;

/**
 * Writes lines to stderr once per turn of the event loop rather than once per line: under load every
 * request logs a line, and a write per line was the largest single cost of a cached session check.
 * What is pending when the process exits is written then, synchronously. One writer per process.
 */
function batchedStderr(): (line: string) => void {
  stderrWriter ??= createBatchedStderr();
  return stderrWriter;
}

function createBatchedStderr(): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    process.stderr.write(text);
  };
  process.on("exit", () => {
    if (pending.length > 0) writeSync(2, pending.join(""));
    pending = [];
  });
  return (line) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(`${line}\n`);
  };
}

export function createLogger(options: { level: LogLevel; write?: (line: string) => void }): Logger {
  const write = options.write ?? batchedStderr();
  const threshold = LEVELS[options.level];
  const emit =
    (level: LogLevel) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      if (LEVELS[level] < threshold) return;
      write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }));
    };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
