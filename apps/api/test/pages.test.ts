import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestMailServer } from "@burrow/platform-email/testing";
import { createTestApi, ORIGIN, PASSWORD, signIn, type TestApi } from "./helpers.ts";

describe("hosted pages for emailed links", () => {
  let api: TestApi;
  const mail = createTestMailServer();
  beforeAll(async () => {
    api = await createTestApi(
      {
        BURROW_EMAIL_VERIFICATION: "required",
        BURROW_REDIRECT_ORIGINS: "https://app.example.com",
      },
      { mail },
    );
  });
  afterAll(() => api.close());

  const linkTo = async (to: string, path: string) => {
    await api.runJobs();
    return mail.linkTo(to, path);
  };
  const submit = (path: string, fields: Record<string, string>, origin = ORIGIN) =>
    api.request(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin },
      body: new URLSearchParams(fields).toString(),
    });

  test("opening a link shows a button and uses nothing; the button confirms", async () => {
    await api.request("/v1/auth/sign-up", { method: "POST", json: { email: "page@example.com", password: PASSWORD } });
    const link = await linkTo("page@example.com", "/auth/verify-email");
    const opened = await api.request(`${link.pathname}${link.search}`);
    expect(opened.status).toBe(200);
    expect(opened.headers.get("referrer-policy")).toBe("same-origin");
    expect(opened.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(opened.headers.get("content-security-policy")).not.toContain("script-src");
    const body = await opened.text();
    // Posted relative to the page (/auth/verify-email), so it works under any mount prefix.
    expect(body).toContain('<form method="post" action="verify-email">');
    expect(body).toContain("Confirm email address");
    // Opening it (a mail scanner, say) did not use the token.
    const token = link.searchParams.get("token")!;
    expect((await signIn(api, "page@example.com", PASSWORD)).status).toBe(403);
    const newLink = await linkTo("page@example.com", "/auth/verify-email");
    // The password chosen at sign-up, given on the page, is kept (without it, it would be removed).
    expect(body).toContain('name="password"');
    const confirmed = await submit("/auth/verify-email", {
      token: newLink.searchParams.get("token")!,
      password: PASSWORD,
    });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain("Email address confirmed");
    expect((await signIn(api, "page@example.com", PASSWORD)).status).toBe(200);
    const reused = await submit("/auth/verify-email", { token });
    expect(reused.status).toBe(400);
    expect(await reused.text()).toContain("not valid");
  });

  test("the reset page keeps the form on a refused password, then sets it", async () => {
    await api.platform.auth.users.markEmailVerified(
      api.platform.db,
      (await api.platform.auth.users.findByEmail(api.platform.db, "page@example.com"))!.id as never,
    );
    await submit("/auth/forgot-password", { email: "page@example.com" });
    const link = await linkTo("page@example.com", "/auth/reset-password");
    expect(link.pathname).toBe("/auth/reset-password");
    const token = link.searchParams.get("token")!;
    const weak = await submit("/auth/reset-password", { token, newPassword: "short" });
    expect(weak.status).toBe(422);
    const weakBody = await weak.text();
    expect(weakBody).toContain("at least 12 characters");
    expect(weakBody).toContain('name="newPassword"');
    const done = await submit("/auth/reset-password", { token, newPassword: "a freshly chosen passphrase" });
    expect(done.status).toBe(200);
    expect((await signIn(api, "page@example.com", "a freshly chosen passphrase")).status).toBe(200);
  });

  test("the forgot page answers the same for any address", async () => {
    const known = await (await submit("/auth/forgot-password", { email: "page@example.com" })).text();
    const unknown = await (await submit("/auth/forgot-password", { email: "nobody@example.com" })).text();
    expect(unknown).toBe(known);
  });

  test("the magic-link page signs in and redirects to the allowed target", async () => {
    await api.request("/v1/auth/magic-link", {
      method: "POST",
      json: { email: "page@example.com", redirectTo: "https://app.example.com/home" },
    });
    const link = await linkTo("page@example.com", "/auth/magic-link");
    const response = await submit("/auth/magic-link", { token: link.searchParams.get("token")! });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("https://app.example.com/home");
    expect(response.headers.getSetCookie().join()).toContain("burrow_session=");
  });

  test("cross-site posts, other content types and links without a token are refused", async () => {
    expect((await submit("/auth/verify-email", { token: "x".repeat(43) }, "https://evil.example")).status).toBe(403);
    const json = await api.request("/auth/verify-email", {
      method: "POST",
      headers: { origin: ORIGIN },
      json: { token: "x" },
    });
    expect(json.status).toBe(415);
    expect((await api.request("/auth/verify-email")).status).toBe(400);
    expect((await api.request(`/auth/verify-email?token=${"x".repeat(300)}`)).status).toBe(400);
  });
});
