import { describe, expect, test } from "bun:test";
import { createLogger } from "./log.ts";

describe("the logger", () => {
  const capture = (level: "debug" | "info" | "warn" | "error" = "info") => {
    const written: string[] = [];
    return { written, log: createLogger({ level, write: (line) => void written.push(line) }) };
  };

  test("writes one JSON line: time, level and message first, then the fields in their order", () => {
    const { written, log } = capture();
    log.info("request", { requestId: "req_1", status: 200, nested: { a: [1, "two"] }, quote: 'say "hi"\n' });
    log.warn("plain");
    expect(written).toHaveLength(2);
    const first = JSON.parse(written[0]!) as Record<string, unknown>;
    expect(Object.keys(first)).toEqual(["time", "level", "message", "requestId", "status", "nested", "quote"]);
    expect(first).toMatchObject({ level: "info", message: "request", nested: { a: [1, "two"] }, quote: 'say "hi"\n' });
    expect(new Date(first.time as string).toISOString()).toBe(first.time as string);
    expect(JSON.parse(written[1]!)).toEqual({ time: expect.any(String), level: "warn", message: "plain" });
  });

  test("a field named like a leading one replaces it, once, as a spread would", () => {
    const { written, log } = capture();
    log.info("outer", { message: "inner", extra: undefined, kept: null });
    expect(written[0]!.match(/"message"/g)).toHaveLength(1);
    expect(JSON.parse(written[0]!)).toEqual({ time: expect.any(String), level: "info", message: "inner", kept: null });
  });

  test("drops what is below its level", () => {
    const { written, log } = capture("warn");
    log.debug("no");
    log.info("no");
    log.error("yes", { code: 1 });
    expect(written.map((line) => (JSON.parse(line) as { message: string }).message)).toEqual(["yes"]);
  });
});
