import { describe, expect, test } from "bun:test";
import { parse } from "hono/utils/cookie";
import { sessionCookieIn } from "./cookies.ts";

describe("sessionCookieIn", () => {
  test("reads what Hono's parse reads, whether the header takes the quick way or not", () => {
    const name = "burrow_session";
    const token = "ses_00000000000000000000000005.s000000000000000000000000000000000000000005";
    const headers: string[] = [
      `${name}=${token}`,
      `${name}=${token}; theme=dark`,
      `theme=dark; ${name}=${token}`,
      `${name}="${token}"`,
      `${name}=a%20b`,
      `${name}=%E0%A4%A`,
      `${name}= ${token}`,
      `${name}=${token} `,
      `${name}=`,
      `${name}==x`,
      `${name}_other=${token}`,
      `${name}x=${token}; ${name}=real`,
      `other=1`,
      ``,
    ];
    for (const header of headers) expect(sessionCookieIn(header, name)).toBe(parse(header, name)[name]);
    expect(sessionCookieIn(`${name}=${token}`, name)).toBe(token);
    expect(sessionCookieIn(`${name}_other=${token}`, name)).toBeUndefined();
    expect(sessionCookieIn(null, name)).toBeUndefined();
  });
});
