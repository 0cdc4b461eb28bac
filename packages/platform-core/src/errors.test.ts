import { describe, expect, test } from "bun:test";
import { ERROR_CATALOGUE, PlatformError, toProblem } from "./errors.ts";

describe("errors", () => {
  test("a platform error renders as an RFC 9457 problem with its code and status", () => {
    const problem = toProblem(new PlatformError("too_many_attempts", { detail: "Try again in 15 minutes." }), "req_1");
    expect(problem).toEqual({
      type: "urn:burrow:error:too_many_attempts",
      title: ERROR_CATALOGUE.too_many_attempts.title,
      status: 429,
      detail: "Try again in 15 minutes.",
      code: "too_many_attempts",
      requestId: "req_1",
    });
  });

  test("an unknown error becomes a bare internal_error without internals", () => {
    const problem = toProblem(new Error("connection to 10.0.0.5 refused: password=hunter2"));
    expect(problem.status).toBe(500);
    expect(problem.code).toBe("internal_error");
    expect(JSON.stringify(problem)).not.toContain("hunter2");
    expect(JSON.stringify(problem)).not.toContain("10.0.0.5");
  });

  test("extensions and field errors are carried", () => {
    const problem = toProblem(
      new PlatformError("weak_password", {
        extensions: { rule: "min_length" },
        errors: [{ path: "password", message: "too short" }],
      }),
    );
    expect(problem.rule).toBe("min_length");
    expect(problem.errors).toEqual([{ path: "password", message: "too short" }]);
  });

  test("every catalogue entry has a 4xx or 5xx status", () => {
    for (const entry of Object.values(ERROR_CATALOGUE)) {
      expect(entry.status).toBeGreaterThanOrEqual(400);
      expect(entry.status).toBeLessThan(600);
    }
  });
});

describe("docs/errors.md", () => {
  test("lists every code of the catalogue with its status", async () => {
    const page = await Bun.file(new URL("../../../docs/errors.md", import.meta.url)).text();
    for (const [code, { status }] of Object.entries(ERROR_CATALOGUE))
      expect(page).toContain(`| \`${code}\` | ${status} |`);
  });
});
