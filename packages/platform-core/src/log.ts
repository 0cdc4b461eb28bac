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

let stderrWriter: ((line: string, urgent: boolean) => void) | undefined;

/**
 * Writes lines to stderr in batches rather than once per line: under load every request logs a
 * line, and a write per line was the largest single cost of a cached session check. Pending lines
 * go out every FLUSH_MS, at once when a warning or an error comes (in order, behind what was
 * pending) or when the buffer is full, and synchronously when the process exits. One writer per
 * process.
 */
function batchedStderr(): (line: string, urgent: boolean) => void {
  stderrWriter ??= createBatchedStderr();
  return stderrWriter;
}

const FLUSH_MS = 10;
const BUFFER_BYTES = 64 * 1024;

function createBatchedStderr(): (line: string, urgent: boolean) => void {
  // Lines are copied into one buffer as they come (no array of strings to join later: under load
  // the join and its garbage cost more than the write itself); it is written when full, when a
  // warning or an error comes, every FLUSH_MS, and on exit.
  const buffer = Buffer.allocUnsafe(BUFFER_BYTES);
  let used = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (used === 0) return;
    const length = used;
    used = 0;
    writeSync(2, buffer, 0, length);
  };
  process.on("exit", flush);
  return (line, urgent) => {
    const text = `${line}\n`;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: room for that, or a flush first.
    const most = text.length * 3;
    if (used + most > BUFFER_BYTES) flush();
    if (most > BUFFER_BYTES) writeSync(2, text);
    else used += buffer.write(text, used);
    if (urgent) flush();
    else if (timer === undefined && used > 0) {
      timer = setTimeout(flush, FLUSH_MS);
      // Pending lines never keep a process alive; what is left is written on exit.
      timer.unref?.();
    }
  };
}

/** The time as ISO 8601, written once per millisecond (under load many lines share one). */
let lastMs = -1;
let lastIso = "";
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

export function createLogger(options: { level: LogLevel; write?: (line: string) => void }): Logger {
  const write = options.write ?? batchedStderr();
  const threshold = LEVELS[options.level];
  const emit =
    (level: LogLevel) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      if (LEVELS[level] < threshold) return;
      write(line(level, message, fields), LEVELS[level] >= LEVELS.warn);
    };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}

/** `{"time":…,"level":…,"message":…,…fields}`, without copying the fields into a new object. */
function line(level: LogLevel, message: string, fields: Record<string, unknown>): string {
  // A field named like the three leading ones replaces it, as a spread would (and JSON keeps keys unique).
  if ("time" in fields || "level" in fields || "message" in fields)
    return JSON.stringify({ time: isoNow(), level, message, ...fields });
  const head = `{"time":"${isoNow()}","level":"${level}","message":${JSON.stringify(message)}`;
  const rest = JSON.stringify(fields);
  return rest === "{}" ? `${head}}` : `${head},${rest.slice(1)}`;
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
