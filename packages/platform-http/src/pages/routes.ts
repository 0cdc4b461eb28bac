import { isPlatformError, PlatformError } from "@burrow/platform-core";
import { Hono, type Context } from "hono";
import { type Platform } from "../compose/platform.ts";
import { writeSessionCookie } from "../cookies.ts";
import { type AppEnv } from "../env.ts";
import { CONTENT_SECURITY_POLICIES } from "../security-headers/index.ts";
import { emailField, form, html, page, passwordField } from "./layout.ts";

interface PageDefinition {
  path: string;
  title: string;
  /** What the GET shows: an explanation and a form. */
  prompt(token: string): string;
  /** What the POST does with the form; returns the success page's body, or a Response (a redirect). */
  submit(c: Context<AppEnv>, fields: Record<string, string>): Promise<string | Response>;
}

/**
 * The pages emailed links open. A GET never uses the token — mail scanners and link previews fetch
 * links on their own — it shows a button or a form, and the POST does the work. Every answer carries
 * `Referrer-Policy: same-origin` (the token is in the URL) and a CSP that allows no script at all.
 */
export function hostedPages(platform: Platform): Hono<AppEnv> {
  const { auth, config } = platform;
  const flows = auth.flows;
  const render = (c: Context<AppEnv>, title: string, body: string, status: 200 | 400 | 403 | 409 | 422 | 429 = 200) =>
    c.html(page({ title, productName: config.email.productName, brandColor: config.email.brandColor, body }), status);
  const request = (c: Context<AppEnv>) => c.get("requestContext");
  const done = (title: string, text: string) => `<h1>${html(title)}</h1><p>${html(text)}</p>`;
  const codeField = `<label for="code">Code from your authenticator app, or a recovery code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="16" required>`;
  const mfaPrompt = (mfaToken: string) =>
    `<h1>Two-step verification</h1><p>Enter the code from your authenticator app.</p>${form({ action: "mfa", fields: `<input type="hidden" name="mfaToken" value="${html(mfaToken)}">${codeField}`, submit: "Verify" })}`;

  const pages: PageDefinition[] = [
    {
      path: "/auth/verify-email",
      title: "Confirm your email address",
      prompt: (token) =>
        `<h1>Confirm your email address</h1><p>Enter the password you chose when you signed up to keep it. Did not sign up, or forgot it? Leave it empty: the address is confirmed, any password set before is removed, and we mail you a link to choose one.</p>${form(
          {
            action: "verify-email",
            token,
            fields: `<label for="password">Password (optional)</label><input id="password" name="password" type="password" autocomplete="current-password" maxlength="256">`,
            submit: "Confirm email address",
          },
        )}`,
      async submit(c, fields) {
        const password = fields.password ?? "";
        await flows.verifyEmail(fields.token ?? "", request(c), password === "" ? {} : { password });
        return done(
          "Email address confirmed",
          password === ""
            ? "Thank you. If the account had a password, it was removed: check your mail for a link to choose one."
            : "Thank you. You can sign in now.",
        );
      },
    },
    {
      path: "/auth/reset-password",
      title: "Choose a new password",
      prompt: (token) =>
        `<h1>Choose a new password</h1><p>At least 12 characters. A few unrelated words make a strong one.</p>${form({ action: "reset-password", token, fields: passwordField("newPassword", "New password"), submit: "Set password" })}`,
      async submit(c, fields) {
        await flows.resetPassword(fields.token ?? "", fields.newPassword ?? "", request(c));
        return done(
          "Password changed",
          "Your password is set, and every session was signed out. Sign in with your new password.",
        );
      },
    },
    {
      path: "/auth/magic-link",
      title: "Sign in",
      prompt: (token) =>
        `<h1>Sign in</h1><p>Continue to sign in on this device.</p>${form({ action: "magic-link", token, submit: "Sign in" })}`,
      async submit(c, fields) {
        const outcome = await flows.signInWithMagicLink(fields.token ?? "", request(c));
        if (outcome.kind === "mfa_required") return mfaPrompt(outcome.mfaToken);
        writeSessionCookie(c, config, outcome.token);
        if (outcome.redirectTo !== null) return c.redirect(outcome.redirectTo, 303);
        return done("You are signed in", "You can close this page and go back to the app.");
      },
    },
    {
      path: "/auth/confirm-email-change",
      title: "Confirm your new email address",
      prompt: (token) =>
        `<h1>Confirm your new email address</h1><p>Your account's address changes once you confirm.</p>${form({ action: "confirm-email-change", token, submit: "Confirm new address" })}`,
      async submit(c, fields) {
        const user = await flows.confirmEmailChange(fields.token ?? "", request(c));
        return done("Email address changed", `Your account now uses ${user.email}.`);
      },
    },
    {
      path: "/auth/confirm-email",
      title: "Confirm this email address",
      prompt: (token) =>
        `<h1>Confirm this email address</h1><p>It was added to an account as another address. Once confirmed, it can be used to sign in.</p>${form({ action: "confirm-email", token, submit: "Confirm this address" })}`,
      async submit(c, fields) {
        const confirmed = await auth.emails.confirm(fields.token ?? "", request(c));
        return done("Email address confirmed", `${confirmed.email} can now be used to sign in to your account.`);
      },
    },
    {
      path: "/auth/account-setup",
      title: "Set up your account",
      prompt: (token) =>
        `<h1>Set up your account</h1><p>Choose a password to start using your account.</p>${form({ action: "account-setup", token, fields: passwordField("password", "Password"), submit: "Set password" })}`,
      async submit(c, fields) {
        await flows.completeAccountSetup(fields.token ?? "", fields.password ?? "", request(c));
        return done("Your account is ready", "Sign in with your email address and the password you chose.");
      },
    },
    {
      path: "/auth/impersonate",
      title: "Act as a user",
      prompt: (token) =>
        `<h1>Act as this user</h1><p>An administrator made this link to see the app as one of its users. Continuing starts a session as them in this browser for 30 minutes; everything done in it is recorded with your name too. It cannot change their password, address, second factors or keys.</p>${form({ action: "impersonate", token, submit: "Start acting as the user" })}`,
      async submit(c, fields) {
        const signedIn = await auth.impersonation.start(fields.token ?? "", request(c));
        writeSessionCookie(c, config, signedIn.token);
        const until = signedIn.session.expiresAt.toISOString().slice(11, 16);
        return `<p class="error" role="status">Impersonating: you are signed in as ${html(signedIn.user.email)} until ${until} UTC.</p><h1>You are acting as the user</h1><p>Open the app in this browser to see what they see. Sign out there, or close the browser, to stop; the session ends by itself at ${until} UTC.</p>`;
      },
    },
    {
      path: "/auth/not-me",
      title: "Secure your account",
      prompt: (token) =>
        `<h1>Was this sign-in not you?</h1><p>Sign your account out everywhere: every browser and app, including the one that just signed in, will have to sign in again.</p>${form({ action: "not-me", token, submit: "Sign out everywhere" })}`,
      async submit(c, fields) {
        await flows.disownSignIn(fields.token ?? "", request(c));
        return `<h1>Signed out everywhere</h1><p>Every session of your account has ended. Whoever signed in may know your password: <a href="forgot-password">choose a new one now</a>, and turn on two-step verification.</p>`;
      },
    },
  ];

  const app = new Hono<AppEnv>();
  // Scoped to /auth/*: a sub-app's "*" would reach every route of the app it is mounted on.
  app.use("/auth/*", async (c, next) => {
    await next();
    // The token in the URL never goes to another site; our own origin still gets named on the form's
    // POST (under no-referrer Chromium sends `Origin: null`, and the CSRF check refuses it).
    c.header("Referrer-Policy", "same-origin");
    c.header("Content-Security-Policy", CONTENT_SECURITY_POLICIES.hostedPage);
    c.header("Cache-Control", "no-store");
  });

  async function readForm(c: Context<AppEnv>): Promise<Record<string, string>> {
    const type = c.req.header("content-type") ?? "";
    if (!type.startsWith("application/x-www-form-urlencoded")) throw new PlatformError("unsupported_media_type");
    const text = await c.req.text();
    if (text.length > config.bodyLimitBytes) throw new PlatformError("payload_too_large");
    return Object.fromEntries(new URLSearchParams(text));
  }

  for (const definition of pages) {
    app.get(definition.path, (c) => {
      const token = c.req.query("token");
      if (token === undefined || token.length > 200)
        return render(
          c,
          definition.title,
          done("This link is not complete", "Open the link from your email again, or ask for a new one."),
          400,
        );
      return render(c, definition.title, definition.prompt(token));
    });
    app.post(definition.path, async (c) => {
      let fields: Record<string, string> = {};
      try {
        fields = await readForm(c);
        const result = await definition.submit(c, fields);
        return result instanceof Response ? result : render(c, definition.title, result);
      } catch (error) {
        if (!isPlatformError(error)) throw error;
        const status = error.status as 400 | 403 | 409 | 422 | 429;
        // A refused password keeps the form, so the user can try another.
        const retry =
          error.code === "weak_password" || error.code === "password_reused"
            ? definition.prompt(fields.token ?? "")
            : "";
        return render(
          c,
          definition.title,
          `<div class="error">${html(error.detail ?? error.message)}</div>${retry || `<p class="muted">Ask for a new link if this one has expired.</p>`}`,
          status,
        );
      }
    });
  }

  // The second step of a magic-link sign-in for an account with MFA.
  app.post("/auth/mfa", async (c) => {
    const fields = await readForm(c);
    const code = (fields.code ?? "").trim();
    try {
      const result = await auth.challenges.verify(
        { mfaToken: fields.mfaToken ?? "", method: /^\d{6}$/.test(code) ? "totp" : "recovery_code", code },
        request(c),
      );
      writeSessionCookie(c, config, result.token);
      if (result.redirectTo !== null) return c.redirect(result.redirectTo, 303);
      return render(c, "Signed in", done("You are signed in", "You can close this page and go back to the app."));
    } catch (error) {
      if (!isPlatformError(error)) throw error;
      const again = error.code === "invalid_code" ? mfaPrompt(fields.mfaToken ?? "") : "";
      return render(
        c,
        "Two-step verification",
        `<div class="error">${html(error.detail ?? error.message)}</div>${again}`,
        error.status as 400,
      );
    }
  });

  // The page an invitation email opens: join with the signed-in account, or create one for the invited address.
  const invitationPrompt = (token: string) =>
    `<h1>Join the organization</h1><p>If you are signed in with the invited address, accept below. New here? Choose a password to create your account.</p>${form({ action: "accept-invitation", token, fields: `<input type="hidden" name="mode" value="join">`, submit: "Accept as the signed-in account" })}<p class="muted">or</p>${form({ action: "accept-invitation", token, fields: `<input type="hidden" name="mode" value="create">${passwordField("password", "Choose a password")}`, submit: "Create my account and join" })}`;
  app.get("/auth/accept-invitation", (c) => {
    const token = c.req.query("token");
    if (token === undefined || token.length > 200)
      return render(c, "Invitation", done("This link is not complete", "Open the link from your email again."), 400);
    return render(c, "Invitation", invitationPrompt(token));
  });
  app.post("/auth/accept-invitation", async (c) => {
    const fields = await readForm(c);
    const invitations = platform.invitations;
    try {
      if (fields.mode === "create") {
        const { signedIn } = await invitations.acceptWithNewAccount(
          { token: fields.token ?? "", password: fields.password ?? "" },
          request(c),
        );
        writeSessionCookie(c, config, signedIn.token);
      } else {
        const caller = await c.get("authentication").caller();
        if (caller === undefined || caller.kind !== "session")
          return render(
            c,
            "Invitation",
            `<div class="error">Sign in with the invited address first, then open the link again.</div>`,
            401 as 400,
          );
        await invitations.accept(caller.session, fields.token ?? "", request(c));
      }
      return render(
        c,
        "Invitation",
        done("You joined", "Welcome aboard. You can close this page and go back to the app."),
      );
    } catch (error) {
      if (!isPlatformError(error)) throw error;
      const retry = error.code === "weak_password" ? invitationPrompt(fields.token ?? "") : "";
      return render(
        c,
        "Invitation",
        `<div class="error">${html(error.detail ?? error.message)}</div>${retry}`,
        error.status as 400,
      );
    }
  });

  app.get("/auth/forgot-password", (c) =>
    render(
      c,
      "Reset your password",
      `<h1>Reset your password</h1><p>We will email you a link to choose a new one.</p>${form({ action: "forgot-password", fields: emailField, submit: "Email me a link" })}`,
    ),
  );
  app.post("/auth/forgot-password", async (c) => {
    const fields = await readForm(c);
    const email = (fields.email ?? "").trim();
    if (email.length === 0 || email.length > 254 || !email.includes("@"))
      return render(
        c,
        "Reset your password",
        `<div class="error">Enter your email address.</div>${form({ action: "forgot-password", fields: emailField, submit: "Email me a link" })}`,
        400,
      );
    await flows.request("password_reset", email);
    // The same page whatever the address.
    return render(
      c,
      "Check your email",
      done(
        "Check your email",
        "If an account uses that address, a link to reset its password is on its way. It works for 30 minutes.",
      ),
    );
  });
  return app;
}
