import { describe, expect, test } from "bun:test";
import { ERROR_CATALOGUE } from "@burrow/platform-core";
import { BurrowError, ERROR_CODES, isBurrowError, unwrap } from "./errors.ts";

describe("BurrowError", () => {
  test("the client's codes are exactly the API's error catalogue", () => {
    expect<string[]>([...ERROR_CODES].sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
  });

  test("a problem document becomes a typed error with its fields", () => {
    const response = new Response(null, { status: 400 });
    const error = BurrowError.fromBody(response, {
      type: "urn:burrow:error:validation_failed",
      title: "The request is not valid.",
      status: 400,
      detail: "The request is not valid.",
      code: "validation_failed",
      requestId: "req_1",
      errors: [{ path: "email", message: "Must be an email address" }],
    });
    expect(isBurrowError(error, "validation_failed")).toBe(true);
    expect(error).toMatchObject({ status: 400, requestId: "req_1", errors: [{ path: "email" }] });
  });

  test("an error answer that is no problem document (a proxy's page) is unexpected_response", () => {
    const error = BurrowError.fromBody(new Response(null, { status: 502 }), "<html>Bad gateway</html>");
    expect(error).toMatchObject({ status: 502, code: "unexpected_response", errors: [] });
    // A code the client does not know is not passed off as one it does.
    expect(BurrowError.fromBody(new Response(null, { status: 418 }), { code: "teapot" }).code).toBe(
      "unexpected_response",
    );
  });

  test("unwrap returns the data of a success and throws the problem of a failure", () => {
    expect(unwrap({ data: { ok: true }, response: new Response(null, { status: 200 }) })).toEqual({ ok: true });
    expect(() =>
      unwrap({ error: { code: "forbidden", status: 403 }, response: new Response(null, { status: 403 }) }),
    ).toThrow(BurrowError);
  });
});
