import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestMailServer, type TestMailServer } from "@burrow/platform-email/testing";
import { eq } from "drizzle-orm";
import { users } from "@burrow/platform-auth/schema";
import { createTestApi, PASSWORD, post, readProblem, signIn, signUpUser, type TestApi } from "./helpers.ts";

/** The token link in the newest mail to `to`. */
function linkIn(mail: TestMailServer, to: string): { url: URL; token: string } {
  const url = mail.linkTo(to);
  return { url, token: url.searchParams.get("token")! };
}

describe("email flows over real SMTP", () => {
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

  /** A verified user, signed up and confirmed through the mailed link. */
  async function verifiedUser(email: string) {
    await post(api, "/v1/auth/sign-up", { email, password: PASSWORD });
    await api.runJobs();
    await post(api, "/v1/auth/email/verify", { token: linkIn(mail, email).token, password: PASSWORD });
    const response = await signIn(api, email, PASSWORD);
    const body = await response.json();
    return { email, token: body.sessionToken as string, bearer: { authorization: `Bearer ${body.sessionToken}` } };
  }

  test("sign-up mails a verification link built from PUBLIC_URL, never from the request's host", async () => {
    const response = await post(
      api,
      "/v1/auth/sign-up",
      { email: "vera@example.com", password: PASSWORD },
      { host: "evil.example", "x-forwarded-host": "evil.example" },
    );
    expect(response.status).toBe(202);
    await api.runJobs();
    const message = mail.lastTo("vera@example.com")!;
    expect(message.subject).toBe("Confirm your email address for Burrow");
    expect(message.html).toContain("Confirm email address");
    const { url, token } = linkIn(mail, "vera@example.com");
    expect(url.origin).toBe("http://localhost:3000");
    expect(url.pathname).toBe("/auth/verify-email");
    expect(message.html).not.toContain("evil.example");

    // Signing in right after signing up sends nothing more: the first mail may still be on its way.
    const early = await readProblem(await signIn(api, "vera@example.com", PASSWORD));
    expect(early.code).toBe("email_not_verified");
    expect(early.verificationEmailSent).toBe(false);
    await api.runJobs();
    expect(linkIn(mail, "vera@example.com").token).toBe(token);
    // A minute later a sign-in sends a second link, and the first one still works.
    api.clock.advance(60_000);
    const later = await readProblem(await signIn(api, "vera@example.com", PASSWORD));
    expect(later.verificationEmailSent).toBe(true);
    await api.runJobs();
    const newer = linkIn(mail, "vera@example.com").token;
    expect(newer).not.toBe(token);
    // Confirming with the password chosen at sign-up keeps it.
    const verified = await post(api, "/v1/auth/email/verify", { token, password: PASSWORD });
    expect(verified.status).toBe(200);
    expect((await verified.json()).user.emailVerified).toBe(true);
    expect((await signIn(api, "vera@example.com", PASSWORD)).status).toBe(200);
    // Single use.
    const again = await post(api, "/v1/auth/email/verify", { token });
    expect(again.status).toBe(400);
    expect((await readProblem(again)).code).toBe("invalid_link");
    // The other link, opened after the address is proven, is harmless: the address stays verified
    // and the password and sessions stay.
    const second = await post(api, "/v1/auth/email/verify", { token: newer });
    expect(second.status).toBe(200);
    expect((await second.json()).user.emailVerified).toBe(true);
    expect((await signIn(api, "vera@example.com", PASSWORD)).status).toBe(200);
  });

  test("a verification link stays valid when a newer one is sent, in either order, until 24 hours pass", async () => {
    await post(api, "/v1/auth/sign-up", { email: "slow@example.com", password: PASSWORD });
    await api.runJobs();
    const first = linkIn(mail, "slow@example.com").token;
    expect((await post(api, "/v1/auth/email/verify/resend", { email: "slow@example.com" })).status).toBe(202);
    await api.runJobs();
    const second = linkIn(mail, "slow@example.com").token;
    expect(second).not.toBe(first);
    api.clock.advance(24 * 3_600_000 - 1_000);
    // The newer mail opened first proves the address; the older one is still a working link after it.
    expect((await post(api, "/v1/auth/email/verify", { token: second, password: PASSWORD })).status).toBe(200);
    expect((await post(api, "/v1/auth/email/verify", { token: first, password: PASSWORD })).status).toBe(200);
  });

  test("a verification link proves only the address it was mailed to", async () => {
    await post(api, "/v1/auth/sign-up", { email: "moved@example.com", password: PASSWORD });
    await api.runJobs();
    const { token } = linkIn(mail, "moved@example.com");
    // The account's address changes by a path that does not revoke mailed links (an operator's edit).
    const user = (await api.platform.auth.users.findByEmail(api.platform.db, "moved@example.com"))!;
    await api.platform.db
      .update(users)
      .set({ email: "elsewhere@example.com", emailNormalized: "elsewhere@example.com" })
      .where(eq(users.id, user.id));
    expect((await readProblem(await post(api, "/v1/auth/email/verify", { token }))).code).toBe("invalid_link");
    expect(
      (await api.platform.auth.users.findByEmail(api.platform.db, "elsewhere@example.com"))!.emailVerifiedAt,
    ).toBeNull();
  });

  test("a verification link expires after 24 hours", async () => {
    await post(api, "/v1/auth/sign-up", { email: "slower@example.com", password: PASSWORD });
    await api.runJobs();
    const token = linkIn(mail, "slower@example.com").token;
    api.clock.advance(24 * 3_600_000);
    expect((await readProblem(await post(api, "/v1/auth/email/verify", { token }))).code).toBe("invalid_link");
    expect(
      (await api.platform.auth.users.findByEmail(api.platform.db, "slower@example.com"))!.emailVerifiedAt,
    ).toBeNull();
  });

  test("signing up with a taken address mails its owner instead", async () => {
    await verifiedUser("owner@example.com");
    const before = mail.received.length;
    expect(
      (await post(api, "/v1/auth/sign-up", { email: "owner@example.com", password: "someone else entirely" })).status,
    ).toBe(202);
    await api.runJobs();
    expect(mail.received.length).toBe(before + 1);
    expect(mail.lastTo("owner@example.com")?.subject).toBe("You already have a Burrow account");
  });

  test("forgot answers the same for any address; reset sets the password, signs everyone out and does not sign in", async () => {
    const user = await verifiedUser("reset@example.com");
    const headers = { "x-request-id": "fixed-request-id-3" };
    const known = await post(api, "/v1/auth/password/forgot", { email: "reset@example.com" }, headers);
    const unknown = await post(api, "/v1/auth/password/forgot", { email: "nobody@example.com" }, headers);
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(await unknown.text()).toBe(await known.text());
    const before = mail.received.length;
    await api.runJobs();
    expect(mail.received.length).toBe(before + 1);
    expect(mail.lastTo("nobody@example.com")).toBeUndefined();
    const { url, token } = linkIn(mail, "reset@example.com");
    expect(url.pathname).toBe("/auth/reset-password");

    // A refused password leaves the link usable.
    const weak = await post(api, "/v1/auth/password/reset", { token, newPassword: "short" });
    expect((await readProblem(weak)).code).toBe("weak_password");
    const reused = await post(api, "/v1/auth/password/reset", { token, newPassword: PASSWORD });
    expect((await readProblem(reused)).code).toBe("password_reused");
    const done = await post(api, "/v1/auth/password/reset", { token, newPassword: "an entirely new passphrase" });
    expect(done.status).toBe(204);
    expect(done.headers.getSetCookie()).toEqual([]);
    expect((await api.request("/v1/auth/session", { headers: user.bearer })).status).toBe(401);
    expect((await signIn(api, "reset@example.com", PASSWORD)).status).toBe(401);
    expect((await signIn(api, "reset@example.com", "an entirely new passphrase")).status).toBe(200);
    await api.runJobs();
    expect(mail.lastTo("reset@example.com")?.subject).toBe("Your Burrow password was changed");
    expect(
      (await readProblem(await post(api, "/v1/auth/password/reset", { token, newPassword: "yet another passphrase" })))
        .code,
    ).toBe("invalid_link");
  });

  test("a reset link lasts 30 minutes, works for its purpose only, and clears a lockout", async () => {
    await verifiedUser("locked@example.com");
    for (let attempt = 0; attempt < 5; attempt++) await signIn(api, "locked@example.com", "not the right password");
    expect((await signIn(api, "locked@example.com", PASSWORD)).status).toBe(429);
    // The lock never blocks the reset path.
    expect((await post(api, "/v1/auth/password/forgot", { email: "locked@example.com" })).status).toBe(202);
    await api.runJobs();
    const { token } = linkIn(mail, "locked@example.com");
    expect((await readProblem(await post(api, "/v1/auth/email/verify", { token }))).code).toBe("invalid_link");
    expect((await readProblem(await post(api, "/v1/auth/magic-link/verify", { token }))).code).toBe("invalid_link");
    expect(
      (await post(api, "/v1/auth/password/reset", { token, newPassword: "free again after all that" })).status,
    ).toBe(204);
    expect((await signIn(api, "locked@example.com", "free again after all that")).status).toBe(200);

    await post(api, "/v1/auth/password/forgot", { email: "locked@example.com" });
    await api.runJobs();
    const late = linkIn(mail, "locked@example.com").token;
    api.clock.advance(30 * 60_000);
    expect(
      (
        await readProblem(
          await post(api, "/v1/auth/password/reset", { token: late, newPassword: "too late for this one" }),
        )
      ).code,
    ).toBe("invalid_link");
  });

  test("magic link: signs in once, carries an allowed redirect, and lasts 15 minutes", async () => {
    await verifiedUser("magic@example.com");
    expect(
      (
        await post(api, "/v1/auth/magic-link", {
          email: "magic@example.com",
          redirectTo: "https://app.example.com/welcome",
        })
      ).status,
    ).toBe(202);
    await api.runJobs();
    const { token, url } = linkIn(mail, "magic@example.com");
    expect(url.pathname).toBe("/auth/magic-link");
    const response = await post(api, "/v1/auth/magic-link/verify", { token });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.redirectTo).toBe("https://app.example.com/welcome");
    expect(body.session.authMethods).toEqual(["magic_link"]);
    expect(response.headers.getSetCookie().join()).toContain("burrow_session=");
    expect((await post(api, "/v1/auth/magic-link/verify", { token })).status).toBe(400);

    await post(api, "/v1/auth/magic-link", { email: "magic@example.com" });
    await api.runJobs();
    const late = linkIn(mail, "magic@example.com").token;
    api.clock.advance(15 * 60_000);
    expect((await readProblem(await post(api, "/v1/auth/magic-link/verify", { token: late }))).code).toBe(
      "invalid_link",
    );
  });

  test("a redirect outside the allow-list is refused with 400 invalid_redirect and nothing is sent", async () => {
    const before = mail.received.length;
    for (const redirectTo of [
      "https://evil.example/",
      "//evil.example/x",
      "javascript:alert(1)",
      "https://app.example.com.evil.example/",
      "https://user@app.example.com/",
      "http://app.example.com/",
    ]) {
      const response = await post(api, "/v1/auth/magic-link", { email: "magic@example.com", redirectTo });
      expect(response.status).toBe(400);
      expect((await readProblem(response)).code).toBe("invalid_redirect");
    }
    expect(
      (await post(api, "/v1/auth/magic-link", { email: "magic@example.com", redirectTo: "/dashboard" })).status,
    ).toBe(202);
    await api.runJobs();
    expect(mail.received.length).toBe(before + 1);
  });

  test("the email code signs in; an unknown address answers like a wrong code", async () => {
    await verifiedUser("code@example.com");
    const headers = { "x-request-id": "fixed-request-id-4" };
    expect(await (await post(api, "/v1/auth/otp/email", { email: "code@example.com" }, headers)).text()).toBe(
      await (await post(api, "/v1/auth/otp/email", { email: "ghost@example.com" }, headers)).text(),
    );
    await api.runJobs();
    const message = mail.lastTo("code@example.com")!;
    expect(message.subject).toBe("Your Burrow sign-in code");
    const code = /\b(\d{6})\b/.exec(message.text ?? "")![1]!;
    const wrong = await post(api, "/v1/auth/otp/email/verify", {
      email: "code@example.com",
      code: code === "000000" ? "111111" : "000000",
    });
    expect((await readProblem(wrong)).code).toBe("invalid_code");
    const ghost = await post(api, "/v1/auth/otp/email/verify", { email: "ghost@example.com", code });
    expect((await readProblem(ghost)).code).toBe("invalid_code");
    // Another account's code does not sign this one in.
    await verifiedUser("other-code@example.com");
    const foreign = await post(api, "/v1/auth/otp/email/verify", { email: "other-code@example.com", code });
    expect((await readProblem(foreign)).code).toBe("invalid_code");
    const right = await post(api, "/v1/auth/otp/email/verify", { email: "code@example.com", code });
    expect(right.status).toBe(200);
    expect((await right.json()).session.authMethods).toEqual(["email_otp"]);
    expect(
      (await readProblem(await post(api, "/v1/auth/otp/email/verify", { email: "code@example.com", code }))).code,
    ).toBe("invalid_code");
  });

  test("email change: needs a recent re-authentication, confirms by link, tells the old address", async () => {
    const user = await verifiedUser("old@example.com");
    api.clock.advance(11 * 60_000);
    const stale = await post(api, "/v1/auth/email/change", { newEmail: "new@example.com" }, user.bearer);
    expect(stale.status).toBe(403);
    expect((await readProblem(stale)).code).toBe("reauthentication_required");
    expect(
      (await post(api, "/v1/auth/reauthenticate", { password: "not the right password" }, user.bearer)).status,
    ).toBe(401);
    const renewed = await post(api, "/v1/auth/reauthenticate", { password: PASSWORD }, user.bearer);
    expect(renewed.status).toBe(200);
    user.bearer.authorization = `Bearer ${(await renewed.json()).sessionToken}`;
    expect((await post(api, "/v1/auth/email/change", { newEmail: "new@example.com" }, user.bearer)).status).toBe(202);
    await api.runJobs();
    expect(mail.lastTo("old@example.com")?.subject).toBe("Your email address is changing");
    expect(mail.lastTo("old@example.com")?.text).toContain("new@example.com");
    const { token, url } = linkIn(mail, "new@example.com");
    expect(url.pathname).toBe("/auth/confirm-email-change");
    // Nothing changes until the new address confirms.
    expect((await (await api.request("/v1/me", { headers: user.bearer })).json()).email).toBe("old@example.com");
    const confirmed = await post(api, "/v1/auth/email/change/confirm", { token });
    expect(confirmed.status).toBe(200);
    expect((await confirmed.json()).user).toMatchObject({ email: "new@example.com", emailVerified: true });
    expect((await signIn(api, "new@example.com", PASSWORD)).status).toBe(200);
    expect((await signIn(api, "old@example.com", PASSWORD)).status).toBe(401);
  });

  test("a pending email change expires, is cancelled by a password reset, and cannot take an address in use", async () => {
    const user = await verifiedUser("mover@example.com");
    await verifiedUser("taken@example.com");
    await post(api, "/v1/auth/email/change", { newEmail: "taken@example.com" }, user.bearer);
    await api.runJobs();
    const taken = await post(api, "/v1/auth/email/change/confirm", { token: linkIn(mail, "taken@example.com").token });
    expect(taken.status).toBe(409);
    expect((await readProblem(taken)).code).toBe("email_taken");

    await post(api, "/v1/auth/email/change", { newEmail: "later@example.com" }, user.bearer);
    await api.runJobs();
    const pending = linkIn(mail, "later@example.com").token;
    await post(api, "/v1/auth/password/forgot", { email: "mover@example.com" });
    await api.runJobs();
    await post(api, "/v1/auth/password/reset", {
      token: linkIn(mail, "mover@example.com").token,
      newPassword: "a fresh passphrase here",
    });
    expect((await readProblem(await post(api, "/v1/auth/email/change/confirm", { token: pending }))).code).toBe(
      "invalid_link",
    );

    const again = await signIn(api, "mover@example.com", "a fresh passphrase here");
    const bearer = { authorization: `Bearer ${(await again.json()).sessionToken}` };
    await post(api, "/v1/auth/email/change", { newEmail: "eventually@example.com" }, bearer);
    await api.runJobs();
    const expiring = linkIn(mail, "eventually@example.com").token;
    api.clock.advance(24 * 3_600_000);
    expect((await readProblem(await post(api, "/v1/auth/email/change/confirm", { token: expiring }))).code).toBe(
      "invalid_link",
    );
  });

  test("account setup: an administrator-created account chooses its first password (link valid 72 hours)", async () => {
    const { db, auth } = api.platform;
    const invited = await db.transaction(async (tx) => {
      const user = await auth.users.insert(tx, { email: "invited@example.com", status: "invited" });
      await auth.notices.sendAccountSetup(tx, user);
      return user;
    });
    await api.runJobs();
    expect(mail.lastTo("invited@example.com")?.subject).toBe("Set up your Burrow account");
    const { token, url } = linkIn(mail, "invited@example.com");
    expect(url.pathname).toBe("/auth/account-setup");
    expect((await readProblem(await post(api, "/v1/auth/account-setup", { token, password: "short" }))).code).toBe(
      "weak_password",
    );
    expect((await post(api, "/v1/auth/account-setup", { token, password: "my very first passphrase" })).status).toBe(
      204,
    );
    expect((await auth.users.get(db, invited.id as never))?.status).toBe("active");
    expect((await signIn(api, "invited@example.com", "my very first passphrase")).status).toBe(200);
    expect((await post(api, "/v1/auth/account-setup", { token, password: "my second passphrase" })).status).toBe(400);
  });

  test("malformed input is a 4xx problem", async () => {
    const cases: [string, unknown][] = [
      ["/v1/auth/email/verify", {}],
      ["/v1/auth/email/verify", { token: 42 }],
      ["/v1/auth/password/forgot", { email: "not-an-email" }],
      ["/v1/auth/password/reset", { token: "x" }],
      ["/v1/auth/otp/email/verify", { email: "code@example.com", code: "12345" }],
      ["/v1/auth/otp/email/verify", { email: "code@example.com", code: "abcdef" }],
      ["/v1/auth/magic-link", { email: "a@example.com", extra: true }],
    ];
    for (const [path, body] of cases) {
      const response = await post(api, path, body);
      expect(response.status).toBe(400);
      expect((await readProblem(response)).code).toBe("validation_failed");
    }
    for (const token of ["", "short", "x".repeat(43), "../../etc/passwd"]) {
      const response = await post(api, "/v1/auth/email/verify", { token });
      expect(response.status).toBe(400);
    }
  });
});

describe("email codes", () => {
  test("a code dies after 5 wrong tries", async () => {
    const mail = createTestMailServer();
    await mail.start();
    // A looser lockout, so that the code's own limit is what stops the sixth try.
    const api = await createTestApi({ SMTP_URL: mail.url(), BURROW_LOCKOUT: "10/15m" });
    try {
      await signUpUser(api, { email: "dies@example.com" });
      await post(api, "/v1/auth/otp/email", { email: "dies@example.com" });
      await api.runJobs();
      const code = /\b(\d{6})\b/.exec(mail.lastTo("dies@example.com")?.text ?? "")![1]!;
      const wrong = code === "123456" ? "654321" : "123456";
      for (let attempt = 0; attempt < 5; attempt++)
        expect((await post(api, "/v1/auth/otp/email/verify", { email: "dies@example.com", code: wrong })).status).toBe(
          400,
        );
      const late = await post(api, "/v1/auth/otp/email/verify", { email: "dies@example.com", code });
      expect((await readProblem(late)).code).toBe("invalid_code");
    } finally {
      await api.close();
      await mail.stop();
    }
  });
});
