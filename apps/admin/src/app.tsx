// The admin console: server-rendered pages over the same platform services the /v1/admin routes
// call. The services check permissions, step-up and audit; this app reads forms, calls one service
// and draws the answer. No client-side script: every action is a form that posts and redirects.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isConcurrentChange, isId, PlatformError, type UserId } from "@burrow/platform-core";
import {
  parseSessionToken,
  type DiscoveryCheck,
  type SecondFactorProof,
  USER_STATUSES,
  type SessionRow,
  type UserStatus,
} from "@burrow/platform-auth";
import { EMAIL_STATUSES, type EmailStatus } from "@burrow/platform-email";
import { type AuditQuery, auditExportResponse } from "@burrow/platform-ops";
import { covers } from "@burrow/platform-rbac";
import {
  type AppEnv,
  CONCURRENT_CHANGE_DETAIL,
  describeError,
  ipRateLimit,
  type Platform,
  refuseControlCharacters,
  requestContext,
  requestLog,
  securityHeaders,
} from "@burrow/platform-http";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { DoneRow, type Frame } from "./layout.tsx";
import { clearAdminSession, csrfToken, csrfTokenValid, readAdminSession, writeAdminSession } from "./session.ts";
import {
  EnrolPage,
  MfaPage,
  type PasskeyOffer,
  ReauthenticatePage,
  RecoveryCodesPage,
  SignInPage,
} from "./pages/sign-in.tsx";
import { htmxScript, passkeyScript, withScripts } from "./scripts.ts";
import { ErrorPage, OverviewPage } from "./pages/overview.tsx";
import { ImpersonationPage, NewUserPage, UserPage, UsersPage } from "./pages/users.tsx";
import { type AuditFilters, AuditPage, AuditTimelinePage, SecurityEventsPage } from "./pages/audit.tsx";
import { MessagesPage, TemplatePage, TemplatesPage } from "./pages/email.tsx";
import { SecretPage, WebhookPage, WebhooksPage } from "./pages/webhooks.tsx";
import { ProviderPage, SettingsPage } from "./pages/settings.tsx";
import { OrganizationPage, OrganizationsPage } from "./pages/organizations.tsx";
import { RolesPage } from "./pages/roles.tsx";

/**
 * The console's policy: its own stylesheet and nothing else; no script, forms post only to the
 * console, and no page may be framed. The few pages that load one of the console's own scripts add
 * `script-src 'self'` (`withScripts`).
 */
export const ADMIN_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * An email preview, framed by the editor: the email's own inline styles and images as a mail client
 * would show them, still no script (the frame is sandboxed too), and framed only by the console.
 */
const PREVIEW_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data: https:; form-action 'none'; frame-ancestors 'self'; base-uri 'none'; sandbox";

const STYLESHEET = readFileSync(join(import.meta.dir, "assets/admin.css"), "utf8");

/** What a signed-in page knows about its operator. */
interface Operator extends Frame {
  session: SessionRow;
  userId: UserId;
}

/** Whether htmx sent the request (an in-place update), rather than the browser itself. */
const fromHtmx = (c: Context) => c.req.header("hx-request") === "true";

/**
 * A redirect thrown from a helper (not signed in, step-up needed): answered as it is. An htmx
 * request is told to go there as a page (HX-Redirect), not to draw the sign-in page into a row.
 */
const redirectNow = (c: Context, location: string): never => {
  const res = fromHtmx(c)
    ? new Response(null, { status: 200, headers: { "HX-Redirect": location } })
    : c.redirect(location, 303);
  throw new HTTPException(303, { res });
};

const escapeText = (value: string) => value.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

/** Only a path on the console itself: never `//elsewhere` or a full URL. */
const localPath = (value: string | undefined, fallback: string) =>
  value !== undefined && /^\/(?![/\\])[\w\-./?=&%]*$/.test(value) ? value : fallback;

/** The user named in the path; a malformed id is a page that does not exist. */
function userIdOf(c: Context): UserId {
  const value = c.req.param("userId") ?? "";
  if (!isId("user", value)) throw new PlatformError("not_found");
  return value as UserId;
}

const NOTICES: Record<string, string> = {
  suspended: "The user is suspended and their sessions have ended.",
  unsuspended: "The user is active again.",
  unlocked: "The sign-in lock is cleared.",
  "sessions-revoked": "Every session of the user has ended.",
  "session-revoked": "The session has ended.",
  "password-reset": "A password-reset link is on its way to the user's address.",
  "email-verified": "The address is marked verified.",
  "address-verified": "The added address is marked verified.",
  "address-removed": "The added address is removed.",
  "factor-removed": "The second factor is removed, and the user was told by mail.",
  created: "The user is created. Their account-setup link is on its way, if you chose to mail it.",
  deleted: "The user is deleted.",
  reauthenticated: "You have confirmed it is you. Do the action again.",
  resolved: "The security event is resolved.",
  saved: "Saved: this version is the one sent from now on.",
  "test-sent": "A test message is on its way to your address.",
  retried: "The message is queued again.",
  "endpoint-saved": "The endpoint is saved.",
  "endpoint-deleted": "The endpoint is deleted.",
  redelivered: "The delivery is queued again, as the same message.",
  "role-changed": "The member's role is changed.",
  "override-added": "The override applies from now on.",
  "override-removed": "The override is removed.",
  approved: "The elevation is approved and active.",
  "role-granted": "The platform role is granted.",
  "key-revoked": "The API key is revoked: requests with it fail from now on.",
  "role-revoked": "The platform role is taken away.",
  "eligibility-granted": "The user is eligible for the role: they can ask to elevate into it.",
  "eligibility-revoked": "The eligibility is removed, and any elevation from it has ended.",
  denied: "The elevation is refused.",
  "member-removed": "The member is removed.",
  "invitation-resent": "The invitation is sent again (the earlier link no longer works).",
  "invitation-revoked": "The invitation is withdrawn.",
  "provider-added": "The provider is added: sign-ins can start at /v1/auth/oauth/<id>/start.",
  "provider-saved": "The provider is saved.",
  "provider-enabled": "The provider is enabled.",
  "provider-disabled": "The provider is disabled: new sign-ins with it are refused.",
  rotated: "A new signing key is active; the previous one verifies its tokens until they expire.",
};

/** A refusal as a sentence: the problem's message and, for a bad input, what was wrong with which field. */
const problemText = (error: PlatformError) => {
  const detail = error.errors?.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
  return detail === undefined || detail === "" ? error.message : `${error.message} ${detail}`;
};

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * An action's answer: back to `page` with its notice (`?done=`), or, for htmx, the line that takes
 * the acted-on row's place, saying the same.
 */
const actionDone = (c: Context, page: string, done: keyof typeof NOTICES) =>
  fromHtmx(c) ? c.html(<DoneRow message={NOTICES[done] ?? ""} />) : c.redirect(`${page}?done=${done}`, 303);

/** The notice a page shows after an action redirected to it (`?done=`), from the fixed list above. */
const noticeOf = (c: Context) => {
  const done = c.req.query("done");
  return done === undefined ? undefined : NOTICES[done];
};

/** The audit log's filters from the page's query: text as typed, and the query the service takes. */
function auditFilters(c: Context): { filters: AuditFilters; query: AuditQuery } {
  const filters: AuditFilters = {};
  const query: AuditQuery = {};
  for (const name of ["actorId", "action", "targetId"] as const) {
    const value = (c.req.query(name) ?? "").trim().slice(0, 80);
    if (value !== "") filters[name] = query[name] = value;
  }
  const outcome = c.req.query("outcome");
  if (outcome === "success" || outcome === "failure" || outcome === "denied") filters.outcome = query.outcome = outcome;
  const from = c.req.query("from") ?? "";
  if (DAY.test(from) && !Number.isNaN(Date.parse(from))) {
    filters.from = from;
    query.from = new Date(`${from}T00:00:00.000Z`);
  }
  const to = c.req.query("to") ?? "";
  if (DAY.test(to) && !Number.isNaN(Date.parse(to))) {
    filters.to = to;
    query.to = new Date(`${to}T23:59:59.999Z`);
  }
  return { filters, query };
}

/** The path with its escapes decoded, or as sent when an escape is broken (the router answers that). */
function decodedOrAsIs(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

export function createAdminApp(platform: Platform): Hono<AppEnv> {
  const { config, auth } = platform;
  const app = new Hono<AppEnv>();
  const request = (c: Context<AppEnv>) => c.get("requestContext");

  app.use("*", requestContext({ trustedProxies: config.trustedProxies }));
  app.use("*", requestLog(platform.log));
  app.use("*", securityHeaders({ production: config.env === "production" }));
  app.use("*", async (c, next) => {
    await next();
    if (!c.res.headers.has("Content-Security-Policy")) c.header("Content-Security-Policy", ADMIN_CSP);
    // Forms name the console as their Origin (under no-referrer Chromium would send `Origin: null`).
    c.header("Referrer-Policy", "same-origin");
    c.header("Cache-Control", "no-store");
  });
  // A state change must come from the console's own pages: the browser says where a request comes
  // from (Origin, or Sec-Fetch-Site), and the form's token proves the page was ours.
  app.use("*", async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const origin = c.req.header("origin");
    const site = c.req.header("sec-fetch-site");
    const sameOrigin = origin !== undefined ? origin === config.adminUrl : site === "same-origin";
    if (!sameOrigin) throw new PlatformError("csrf_rejected");
    return next();
  });
  app.use(
    "*",
    bodyLimit({ maxSize: 64 * 1024, onError: () => Promise.reject(new PlatformError("payload_too_large")) }),
  );
  // As on the API: a control character (NUL among them) in the path or the query string is refused
  // here, not by PostgreSQL (which refuses NUL in text) halfway through a page.
  app.use("*", async (c, next) => {
    const url = new URL(c.req.url);
    refuseControlCharacters([["(path)", decodedOrAsIs(url.pathname)], ...url.searchParams]);
    return next();
  });
  app.use("/sign-in/*", ipRateLimit({ db: platform.db, clock: platform.clock, policy: config.ipRateLimit }));

  /**
   * The posted form, after its CSRF token is checked: each field's first value, and every value of
   * the fields sent more than once (checkboxes).
   */
  async function formWithLists(
    c: Context<AppEnv>,
  ): Promise<{ fields: Record<string, string>; lists: Record<string, string[]> }> {
    const body = await c.req.parseBody({ all: true }).catch(() => {
      throw new PlatformError("validation_failed", { detail: "The form could not be read." });
    });
    const fields: Record<string, string> = {};
    const lists: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(body)) {
      const values = (Array.isArray(value) ? value : [value]).filter(
        (item): item is string => typeof item === "string",
      );
      lists[key] = values;
      if (values[0] !== undefined) fields[key] = values[0];
    }
    if (!csrfTokenValid(c, config, fields._csrf ?? "")) throw new PlatformError("csrf_rejected");
    refuseControlCharacters(
      Object.entries(lists).flatMap(([key, values]) => values.map((value): [string, string] => [key, value])),
    );
    return { fields, lists };
  }
  const form = async (c: Context<AppEnv>) => (await formWithLists(c)).fields;

  /**
   * The signed-in operator, or a redirect to sign in. A console session held back by the MFA rule
   * may only enrol a factor; an account without platform permissions is signed out.
   */
  /**
   * A console session just signed in: the one this browser held before ends (ASVS V7.2.4), then the
   * cookie names the new one. (A step-up or enrolment renews the same session and keeps it.)
   */
  async function issueAdminSession(c: Context<AppEnv>, token: string): Promise<void> {
    const previous = readAdminSession(c, config);
    const issued = parseSessionToken(token);
    const validation = previous === undefined ? undefined : await auth.sessions.validate(previous, "admin");
    if (validation?.session != null && issued !== undefined)
      await auth.sessions.endReplaced(platform.db, validation.session, issued.id);
    writeAdminSession(c, config, token);
  }

  async function operator(c: Context<AppEnv>, options: { enrolling?: boolean } = {}): Promise<Operator> {
    const token = readAdminSession(c, config);
    const validation = token === undefined ? undefined : await auth.sessions.validate(token, "admin");
    if (validation?.session == null) {
      if (token !== undefined) clearAdminSession(c, config);
      return redirectNow(c, "/sign-in");
    }
    const { session, user } = validation;
    if (session.restriction !== null && options.enrolling !== true) return redirectNow(c, "/enrol-mfa");
    const { patterns } = await platform.rbac.resolver.resolve(user.id);
    if (patterns.size === 0) {
      await auth.signOut(session, request(c));
      clearAdminSession(c, config);
      throw new PlatformError("forbidden", { detail: "This account has no access to the admin console." });
    }
    return {
      session,
      userId: user.id as UserId,
      email: user.email,
      can: (permission) => covers(patterns, permission),
      csrf: csrfToken(c, config),
      path: c.req.path,
    };
  }

  /**
   * Runs an action that may need a recent authentication: when the service says so, the operator is
   * sent to confirm with their code and brought back to `back`.
   */
  async function steppingUp(c: Context<AppEnv>, back: string, work: () => Promise<Response>): Promise<Response> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof PlatformError && error.code === "reauthentication_required")
        return redirectNow(c, `/reauthenticate?next=${encodeURIComponent(back)}`);
      throw error;
    }
  }

  app.get("/assets/admin.css", (c) => {
    c.header("Content-Type", "text/css; charset=utf-8");
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(STYLESHEET);
  });

  app.get("/assets/passkey.js", async (c) => {
    c.header("Content-Type", "text/javascript; charset=utf-8");
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(await passkeyScript());
  });

  app.get("/assets/htmx.min.js", (c) => {
    c.header("Content-Type", "text/javascript; charset=utf-8");
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(htmxScript());
  });
  /** A page with in-place updates (it loads htmx): the console's policy with `script-src 'self'`. */
  const enhanced = (c: Context<AppEnv>) =>
    c.header("Content-Security-Policy", withScripts(ADMIN_CSP, { requests: "self" }));

  /** A page that loads the console's scripts: the same policy with `script-src 'self'`. */
  const scripted = (c: Context<AppEnv>, offer: PasskeyOffer | null) => {
    if (offer !== null) c.header("Content-Security-Policy", withScripts(ADMIN_CSP));
  };
  /** A passkey ceremony for `userId`, or null when they have no passkey (the page offers codes alone). */
  const passkeyOffer = async (
    userId: string,
    purpose: "second_factor" | "reauthentication",
    mfaChallengeId?: string,
  ): Promise<PasskeyOffer | null> => {
    try {
      return await auth.passkeys.optionsForUser(userId, purpose, mfaChallengeId);
    } catch (error) {
      if (error instanceof PlatformError && error.code === "no_passkey") return null;
      throw error;
    }
  };
  /** The second-factor page of a live sign-in: a passkey when the operator has one, and the code form. */
  const mfaPage = async (c: Context<AppEnv>, mfaToken: string, error?: string) => {
    const challenge = await auth.challenges.find(mfaToken);
    const passkey = await passkeyOffer(challenge.userId, "second_factor", challenge.id);
    scripted(c, passkey);
    return c.html(
      <MfaPage csrf={csrfToken(c, config)} mfaToken={mfaToken} passkey={passkey} error={error} />,
      error === undefined ? 200 : 400,
    );
  };
  /** The browser's WebAuthn answer as the passkey form posted it (JSON); the service checks every field. */
  const assertionOf = (fields: Record<string, string>) => {
    let response: unknown;
    try {
      response = JSON.parse(fields.response ?? "");
    } catch {
      response = null;
    }
    if (typeof response !== "object" || response === null || Array.isArray(response))
      throw new PlatformError("validation_failed", {
        errors: [{ path: "response", message: "The passkey's answer could not be read" }],
      });
    return { ceremonyId: fields.ceremonyId ?? "", response: response as never };
  };

  // ── Signing in: password, then the second factor (or enrolling one), then the console. ──
  app.get("/sign-in", (c) => c.html(<SignInPage csrf={csrfToken(c, config)} />));
  app.post("/sign-in", async (c) => {
    const fields = await form(c);
    const csrf = csrfToken(c, config);
    try {
      const outcome = await auth.signIn({ email: fields.email ?? "", password: fields.password ?? "" }, request(c), {
        result: "admin_session",
      });
      if (outcome.kind === "mfa_required") return await mfaPage(c, outcome.mfaToken);
      await issueAdminSession(c, outcome.token);
      return c.redirect(outcome.session.restriction === null ? "/" : "/enrol-mfa", 303);
    } catch (error) {
      if (!(error instanceof PlatformError) || error.status >= 500) throw error;
      return c.html(<SignInPage csrf={csrf} error={error.message} email={fields.email} />, error.status as 400);
    }
  });
  // The second step, with a code or a passkey: both end in the challenge's verify, which ends in the
  // one sign-in completion (status, policy, audit) and answers the console session it was asked for.
  for (const [path, proofOf] of [
    [
      "/sign-in/mfa",
      (fields: Record<string, string>): SecondFactorProof => {
        const code = (fields.code ?? "").replace(/\s+/g, "");
        return { method: /^\d{6,8}$/.test(code) ? "totp" : "recovery_code", code };
      },
    ],
    [
      "/sign-in/passkey",
      (fields: Record<string, string>): SecondFactorProof => ({ method: "passkey", assertion: assertionOf(fields) }),
    ],
  ] as const)
    app.post(path, async (c) => {
      const fields = await form(c);
      const mfaToken = fields.mfaToken ?? "";
      try {
        const signedIn = await auth.challenges.verify({ mfaToken, ...proofOf(fields) }, request(c));
        if (signedIn.result !== "admin_session") throw new PlatformError("invalid_token");
        await issueAdminSession(c, signedIn.token);
        return c.redirect("/", 303);
      } catch (error) {
        if (!(error instanceof PlatformError) || error.status >= 500) throw error;
        // A wrong code or passkey may be tried again on the same challenge; a dead challenge starts over.
        if (error.code === "invalid_code" || error.code === "validation_failed")
          return await mfaPage(
            c,
            mfaToken,
            path === "/sign-in/passkey" ? "The passkey was not accepted. Try again, or use a code." : error.message,
          ).catch((again) => {
            if (!(again instanceof PlatformError)) throw again;
            return c.html(<SignInPage csrf={csrfToken(c, config)} error={again.message} />, again.status as 400);
          });
        return c.html(<SignInPage csrf={csrfToken(c, config)} error={error.message} />, error.status as 400);
      }
    });
  app.get("/enrol-mfa", async (c) => {
    const me = await operator(c, { enrolling: true });
    if (me.session.restriction === null) return c.redirect("/", 303);
    const enrolment = await auth.factors.enrollTotp(me.session, "Burrow admin", request(c));
    const passkey = await auth.passkeys.registrationOptions(me.session);
    scripted(c, passkey);
    const error = c.req.query("error");
    return c.html(
      <EnrolPage
        csrf={me.csrf}
        factorId={enrolment.factorId}
        secret={enrolment.secret}
        qrDataUrl={`data:image/svg+xml;base64,${Buffer.from(enrolment.qrSvg).toString("base64")}`}
        passkey={passkey}
        error={
          error === "code"
            ? "That code did not work. Scan this new code into your app and try again."
            : error === "passkey"
              ? "The passkey could not be added. Try again, or use an authenticator app."
              : undefined
        }
      />,
    );
  });
  /** Enrolment done (TOTP or passkey): the session is a full one now, and the recovery codes are shown once. */
  const enrolled = (c: Context<AppEnv>, added: { recoveryCodes: string[] | null; sessionToken: string | null }) => {
    if (added.sessionToken !== null) writeAdminSession(c, config, added.sessionToken);
    return c.html(<RecoveryCodesPage codes={added.recoveryCodes ?? []} />);
  };
  app.post("/enrol-mfa", async (c) => {
    const me = await operator(c, { enrolling: true });
    const fields = await form(c);
    try {
      return enrolled(
        c,
        await auth.factors.confirmTotp(
          me.session,
          fields.factorId ?? "",
          (fields.code ?? "").replace(/\s+/g, ""),
          request(c),
        ),
      );
    } catch (error) {
      if (!(error instanceof PlatformError) || error.status >= 500) throw error;
      return c.redirect("/enrol-mfa?error=code", 303);
    }
  });
  app.post("/enrol-passkey", async (c) => {
    const me = await operator(c, { enrolling: true });
    const fields = await form(c);
    try {
      const { ceremonyId, response } = assertionOf(fields);
      return enrolled(
        c,
        await auth.passkeys.register(me.session, { ceremonyId, response, label: "Admin console passkey" }, request(c)),
      );
    } catch (error) {
      if (!(error instanceof PlatformError) || error.status >= 500) throw error;
      return c.redirect("/enrol-mfa?error=passkey", 303);
    }
  });
  app.post("/sign-out", async (c) => {
    await form(c);
    const token = readAdminSession(c, config);
    const validation = token === undefined ? undefined : await auth.sessions.validate(token, "admin");
    if (validation?.session != null) await auth.signOut(validation.session, request(c));
    clearAdminSession(c, config);
    return c.redirect("/sign-in", 303);
  });
  // Destructive actions need an authentication in the last 10 minutes: the code from the
  // authenticator app, or the operator's passkey, confirms it.
  const reauthenticatePage = async (c: Context<AppEnv>, me: Operator, next: string, error?: PlatformError) => {
    const passkey = await passkeyOffer(me.userId, "reauthentication");
    scripted(c, passkey);
    return c.html(
      <ReauthenticatePage csrf={me.csrf} next={next} passkey={passkey} error={error?.message} />,
      (error?.status ?? 200) as 200,
    );
  };
  app.get("/reauthenticate", async (c) => {
    const me = await operator(c);
    return reauthenticatePage(c, me, localPath(c.req.query("next"), "/"));
  });
  for (const [path, proofOf] of [
    ["/reauthenticate", (fields: Record<string, string>) => ({ totp: (fields.code ?? "").replace(/\s+/g, "") })],
    ["/reauthenticate/passkey", (fields: Record<string, string>) => ({ passkey: assertionOf(fields) })],
  ] as const)
    app.post(path, async (c) => {
      const me = await operator(c);
      const fields = await form(c);
      const next = localPath(fields.next, "/");
      try {
        const { token } = await auth.flows.reauthenticate(me.session, proofOf(fields), request(c));
        writeAdminSession(c, config, token);
        return c.redirect(`${next}${next.includes("?") ? "&" : "?"}done=reauthenticated`, 303);
      } catch (error) {
        if (!(error instanceof PlatformError) || error.status >= 500) throw error;
        return reauthenticatePage(c, me, next, error);
      }
    });

  // ── The console. ──
  app.get("/", async (c) => {
    const me = await operator(c);
    return c.html(<OverviewPage frame={me} summary={await platform.overview.summary(me.userId)} />);
  });
  app.get("/users", async (c) => {
    const me = await operator(c);
    const query = (c.req.query("query") ?? "").trim().slice(0, 254);
    const statusText = c.req.query("status") ?? "";
    const status = (USER_STATUSES as readonly string[]).includes(statusText) ? (statusText as UserStatus) : undefined;
    const cursor = c.req.query("cursor");
    const page = await platform.userAdministration.search(me.userId, {
      ...(query === "" ? {} : { query }),
      ...(status === undefined ? {} : { status }),
      ...(cursor === undefined || cursor === "" ? {} : { cursor }),
      limit: 50,
    });
    enhanced(c);
    return c.html(<UsersPage frame={me} page={page} query={query} status={status} />);
  });
  app.get("/users/new", async (c) => {
    const me = await operator(c);
    if (!me.can("users:manage"))
      throw new PlatformError("forbidden", { detail: "This needs the users:manage permission." });
    return c.html(<NewUserPage frame={me} />);
  });
  app.post("/users/new", async (c) => {
    const me = await operator(c);
    const fields = await form(c);
    try {
      const user = await platform.userAdministration.create(
        me.userId,
        { email: fields.email ?? "", name: fields.name ?? null, sendSetupEmail: fields.sendSetupEmail === "yes" },
        request(c),
      );
      return c.redirect(`/users/${user.id}?done=created`, 303);
    } catch (error) {
      if (!(error instanceof PlatformError) || error.status >= 500 || error.status === 403) throw error;
      return c.html(
        <NewUserPage frame={me} error={problemText(error)} email={fields.email} name={fields.name} />,
        error.status as 400,
      );
    }
  });
  app.get("/users/:userId", async (c) => {
    const me = await operator(c);
    const userId = userIdOf(c);
    const user = await platform.userAdministration.get(me.userId, userId);
    const sessions = await platform.userAdministration.sessions(me.userId, userId);
    const details = await platform.userAdministration.details(me.userId, userId);
    const platformRoles = {
      held: await platform.rbac.roles.platformRolesOf(me.userId, userId),
      all: (await platform.rbac.roles.platformRoles(me.userId)).map((role) => ({ key: role.key, name: role.name })),
      eligible: (await platform.rbac.elevations.eligibilities(me.userId, null)).filter(
        (eligibility) => eligibility.userId === userId,
      ),
    };
    const audit = me.can("audit:read")
      ? (await platform.auditTrail.search(me.userId, { targetId: userId }, { limit: 20 })).data
      : null;
    enhanced(c);
    return c.html(
      <UserPage
        frame={me}
        user={user}
        sessions={sessions}
        details={details}
        platformRoles={platformRoles}
        audit={audit}
        notice={noticeOf(c)}
      />,
    );
  });

  // The same filtered, newest-first pages as a table (50) or as a timeline of days (200).
  for (const [path, View, limit] of [
    ["/audit", AuditPage, 50],
    ["/audit/timeline", AuditTimelinePage, 200],
  ] as const)
    app.get(path, async (c) => {
      const me = await operator(c);
      const { filters, query } = auditFilters(c);
      const cursor = c.req.query("cursor");
      const page = await platform.auditTrail.search(me.userId, query, {
        ...(cursor === undefined || cursor === "" ? {} : { cursor }),
        limit,
      });
      return c.html(<View frame={me} filters={filters} page={page} />);
    });
  app.get("/audit/export", async (c) => {
    const me = await operator(c);
    const rows = await platform.auditTrail.export(me.userId, auditFilters(c).query);
    return auditExportResponse(rows, c.req.query("format") === "ndjson" ? "ndjson" : "csv", (error) =>
      platform.log.error("an audit export failed", { error: String(error) }),
    );
  });
  app.get("/security-events", async (c) => {
    const me = await operator(c);
    const resolved = c.req.query("resolved") === "true";
    const cursor = c.req.query("cursor");
    const page = await platform.securityEvents.list(
      me.userId,
      { resolved },
      { ...(cursor === undefined || cursor === "" ? {} : { cursor }), limit: 50 },
    );
    enhanced(c);
    return c.html(<SecurityEventsPage frame={me} resolved={resolved} page={page} notice={noticeOf(c)} />);
  });
  app.post("/security-events/:eventId/resolve", async (c) => {
    const me = await operator(c);
    const fields = await form(c);
    await platform.securityEvents.resolve(me.userId, c.req.param("eventId"), fields.note ?? "", request(c));
    return actionDone(c, "/security-events", "resolved");
  });

  // ── Email: templates with their editor and preview, the outbox. ──
  const mailbox =
    config.env !== "production" && platform.email.transport.name === "dev-mailbox"
      ? `${config.publicUrl}${config.basePath}/dev/mailbox`
      : null;
  const emailAdmin = platform.emailAdministration;
  const localeOf = (c: Context) => {
    const locale = c.req.query("locale") ?? "en";
    return /^[a-z]{2}(-[A-Z]{2})?$/.test(locale) ? locale : "en";
  };
  const keyOf = (c: Context) => {
    const key = c.req.param("key") ?? "";
    if (!/^[a-z0-9_.]{1,100}$/.test(key)) throw new PlatformError("not_found");
    return key;
  };
  const draftOf = (fields: Record<string, string>) => ({
    subject: fields.subject ?? "",
    mjml: fields.mjml ?? "",
    text: (fields.text ?? "").trim() === "" ? null : (fields.text ?? ""),
  });
  const previewResponse = (c: Context<AppEnv>, html: string, status: 200 | 400 = 200) => {
    c.header("Content-Security-Policy", PREVIEW_CSP);
    c.header("X-Frame-Options", "SAMEORIGIN");
    return c.html(html, status);
  };
  app.get("/email", async (c) => {
    const me = await operator(c);
    return c.html(<TemplatesPage frame={me} templates={await emailAdmin.templates(me.userId)} mailbox={mailbox} />);
  });
  app.get("/email/templates/:key", async (c) => {
    const me = await operator(c);
    const template = await emailAdmin.template(me.userId, keyOf(c), localeOf(c));
    return c.html(<TemplatePage frame={me} template={template} notice={noticeOf(c)} />);
  });
  app.post("/email/templates/:key", async (c) => {
    const me = await operator(c);
    const fields = await form(c);
    const key = keyOf(c);
    const locale = localeOf(c);
    try {
      await emailAdmin.save(me.userId, key, draftOf(fields), request(c), locale);
      return c.redirect(`/email/templates/${key}?${locale === "en" ? "" : `locale=${locale}&`}done=saved`, 303);
    } catch (error) {
      if (!(error instanceof PlatformError) || error.status !== 400) throw error;
      const template = await emailAdmin.template(me.userId, key, locale);
      return c.html(
        <TemplatePage frame={me} template={template} draft={draftOf(fields)} error={problemText(error)} />,
        400,
      );
    }
  });
  app.get("/email/templates/:key/preview", async (c) => {
    const me = await operator(c);
    const template = await emailAdmin.template(me.userId, keyOf(c), localeOf(c));
    const rendered = await emailAdmin.preview(me.userId, template.key, template, template.locale);
    return previewResponse(c, rendered.html);
  });
  app.post("/email/templates/:key/preview", async (c) => {
    const me = await operator(c);
    const fields = await form(c);
    try {
      const rendered = await emailAdmin.preview(me.userId, keyOf(c), draftOf(fields), localeOf(c));
      return previewResponse(c, rendered.html);
    } catch (error) {
      if (!(error instanceof PlatformError) || error.status !== 400) throw error;
      return previewResponse(
        c,
        `<!doctype html><meta charset="utf-8"><body style="font:15px/1.5 system-ui,sans-serif;color:#991b1b;padding:16px"><strong>This draft does not render.</strong><p>${escapeText(problemText(error))}</p></body>`,
        400,
      );
    }
  });
  app.post("/email/templates/:key/test", async (c) => {
    const me = await operator(c);
    await form(c);
    const key = keyOf(c);
    const locale = localeOf(c);
    await emailAdmin.sendTest(me.userId, key, request(c), locale);
    return c.redirect(`/email/templates/${key}?${locale === "en" ? "" : `locale=${locale}&`}done=test-sent`, 303);
  });
  app.get("/email/messages", async (c) => {
    const me = await operator(c);
    const statusText = c.req.query("status") ?? "";
    const status = (EMAIL_STATUSES as readonly string[]).includes(statusText) ? (statusText as EmailStatus) : undefined;
    const messages = await emailAdmin.messages(me.userId, { ...(status === undefined ? {} : { status }), limit: 100 });
    return c.html(
      <MessagesPage frame={me} messages={messages} status={status} mailbox={mailbox} notice={noticeOf(c)} />,
    );
  });
  app.post("/email/messages/:messageId/retry", async (c) => {
    const me = await operator(c);
    await form(c);
    await emailAdmin.retry(me.userId, c.req.param("messageId"), request(c));
    return c.redirect("/email/messages?done=retried", 303);
  });

  // ── Webhooks: endpoints and their deliveries. ──
  const webhooks = platform.webhooks;
  const endpointInput = (fields: Record<string, string>, lists: Record<string, string[]>) => ({
    url: (fields.url ?? "").trim(),
    description: (fields.description ?? "").trim(),
    eventTypes: lists.eventTypes ?? [],
  });
  const endpointPage = async (c: Context<AppEnv>, me: Operator, endpointId: string, error?: string) => {
    const cursor = c.req.query("cursor");
    const [endpoint, deliveries] = [
      await webhooks.get(me.userId, endpointId),
      await webhooks.deliveries(me.userId, endpointId, {
        limit: 25,
        ...(cursor === undefined || cursor === "" ? {} : { cursor }),
      }),
    ];
    return c.html(
      <WebhookPage frame={me} endpoint={endpoint} deliveries={deliveries} notice={noticeOf(c)} error={error} />,
      error === undefined ? 200 : 400,
    );
  };
  app.get("/webhooks", async (c) => {
    const me = await operator(c);
    return c.html(<WebhooksPage frame={me} endpoints={await webhooks.list(me.userId)} notice={noticeOf(c)} />);
  });
  app.post("/webhooks", async (c) => {
    const me = await operator(c);
    const { fields, lists } = await formWithLists(c);
    try {
      const { endpoint, secret } = await webhooks.create(me.userId, endpointInput(fields, lists), request(c));
      return c.html(<SecretPage frame={me} endpoint={endpoint} secret={secret} rotated={false} />, 201);
    } catch (error) {
      if (!(error instanceof PlatformError) || error.status !== 400) throw error;
      return c.html(
        <WebhooksPage
          frame={me}
          endpoints={await webhooks.list(me.userId)}
          error={problemText(error)}
          values={fields}
        />,
        400,
      );
    }
  });
  app.get("/webhooks/:endpointId", async (c) => endpointPage(c, await operator(c), c.req.param("endpointId")));
  app.post("/webhooks/:endpointId", async (c) => {
    const me = await operator(c);
    const { fields, lists } = await formWithLists(c);
    const endpointId = c.req.param("endpointId");
    try {
      await webhooks.update(
        me.userId,
        endpointId,
        { ...endpointInput(fields, lists), enabled: fields.enabled === "yes" },
        request(c),
      );
    } catch (error) {
      if (!(error instanceof PlatformError) || error.status !== 400) throw error;
      return endpointPage(c, me, endpointId, problemText(error));
    }
    return c.redirect(`/webhooks/${endpointId}?done=endpoint-saved`, 303);
  });
  app.post("/webhooks/:endpointId/rotate", async (c) => {
    const me = await operator(c);
    await form(c);
    const endpointId = c.req.param("endpointId");
    const { secret } = await webhooks.rotateSecret(me.userId, endpointId, request(c));
    return c.html(
      <SecretPage frame={me} endpoint={await webhooks.get(me.userId, endpointId)} secret={secret} rotated />,
    );
  });
  app.post("/webhooks/:endpointId/delete", async (c) => {
    const me = await operator(c);
    await form(c);
    await webhooks.remove(me.userId, c.req.param("endpointId"), request(c));
    return c.redirect("/webhooks?done=endpoint-deleted", 303);
  });
  app.post("/webhooks/deliveries/:deliveryId/redeliver", async (c) => {
    const me = await operator(c);
    await form(c);
    const delivery = await webhooks.redeliver(me.userId, c.req.param("deliveryId"), request(c));
    return c.redirect(`/webhooks/${delivery.endpointId}?done=redelivered`, 303);
  });

  // ── Organizations: search, members, invitations. ──
  const { organizations, roles } = platform.rbac;
  app.get("/orgs", async (c) => {
    const me = await operator(c);
    const query = (c.req.query("query") ?? "").trim().slice(0, 200);
    const cursor = c.req.query("cursor");
    const page = await organizations.search(me.userId, {
      ...(query === "" ? {} : { query }),
      ...(cursor === undefined || cursor === "" ? {} : { cursor }),
    });
    return c.html(<OrganizationsPage frame={me} page={page} query={query} />);
  });
  app.get("/orgs/:orgId", async (c) => {
    const me = await operator(c);
    const orgId = c.req.param("orgId");
    const org = await organizations.get(me.userId, orgId);
    const members = await organizations.members(me.userId, orgId);
    const orgRoles = me.can("roles:read") ? await roles.list(me.userId, orgId) : null;
    const invitations = me.can("members:invite") ? await platform.invitations.list(me.userId, orgId) : null;
    const plan = await platform.entitlementAdministration.view(me.userId, orgId);
    return c.html(
      <OrganizationPage
        frame={me}
        org={org}
        members={members}
        roles={orgRoles}
        plan={plan}
        invitations={
          invitations?.filter((invitation) => invitation.acceptedAt === null && invitation.revokedAt === null) ?? null
        }
        notice={noticeOf(c)}
      />,
    );
  });
  app.post("/orgs/:orgId/overrides", async (c) => {
    const me = await operator(c);
    const fields = await form(c);
    const orgId = c.req.param("orgId");
    const effect = fields.effect === "deny" || fields.effect === "limit" ? fields.effect : "grant";
    const limit = fields.limit === undefined || fields.limit === "" ? null : Number(fields.limit);
    const expires = fields.expires ?? "";
    await platform.entitlementAdministration.addOverride(
      me.userId,
      orgId,
      {
        feature: fields.feature ?? "",
        effect,
        limit: limit !== null && Number.isInteger(limit) ? limit : null,
        reason: fields.reason ?? "",
        expiresAt:
          DAY.test(expires) && !Number.isNaN(Date.parse(expires)) ? new Date(`${expires}T23:59:59.999Z`) : null,
      },
      request(c),
    );
    return c.redirect(`/orgs/${orgId}?done=override-added`, 303);
  });
  app.post("/orgs/:orgId/overrides/:overrideId/remove", async (c) => {
    const me = await operator(c);
    await form(c);
    const orgId = c.req.param("orgId");
    await platform.entitlementAdministration.removeOverride(me.userId, orgId, c.req.param("overrideId"), request(c));
    return c.redirect(`/orgs/${orgId}?done=override-removed`, 303);
  });
  app.post("/orgs/:orgId/members/:userId/role", async (c) => {
    const me = await operator(c);
    const fields = await form(c);
    const orgId = c.req.param("orgId");
    await organizations.changeRole(me.userId, orgId, c.req.param("userId"), fields.role ?? "", request(c));
    return c.redirect(`/orgs/${orgId}?done=role-changed`, 303);
  });
  app.post("/orgs/:orgId/members/:userId/remove", async (c) => {
    const me = await operator(c);
    await form(c);
    const orgId = c.req.param("orgId");
    await organizations.removeMember(me.userId, orgId, c.req.param("userId"), request(c));
    return c.redirect(`/orgs/${orgId}?done=member-removed`, 303);
  });
  app.post("/orgs/:orgId/invitations/:invitationId/resend", async (c) => {
    const me = await operator(c);
    await form(c);
    const orgId = c.req.param("orgId");
    const invitation = (await platform.invitations.list(me.userId, orgId)).find(
      (entry) => entry.id === c.req.param("invitationId") && entry.acceptedAt === null && entry.revokedAt === null,
    );
    if (invitation === undefined) throw new PlatformError("not_found");
    // A newer invitation to the same address replaces the pending one, with a new link.
    await platform.invitations.invite(me.userId, orgId, { email: invitation.email, role: invitation.role }, request(c));
    return c.redirect(`/orgs/${orgId}?done=invitation-resent`, 303);
  });
  app.post("/orgs/:orgId/invitations/:invitationId/revoke", async (c) => {
    const me = await operator(c);
    await form(c);
    const orgId = c.req.param("orgId");
    await platform.invitations.revoke(me.userId, orgId, c.req.param("invitationId"), request(c));
    return c.redirect(`/orgs/${orgId}?done=invitation-revoked`, 303);
  });

  // ── Roles and elevations. ──
  const ELEVATION_STATES = ["pending", "active", "ended", "denied"] as const;
  app.get("/roles", async (c) => {
    const me = await operator(c);
    const statusText = c.req.query("status") ?? "";
    const status = (ELEVATION_STATES as readonly string[]).includes(statusText)
      ? (statusText as (typeof ELEVATION_STATES)[number])
      : undefined;
    const platformRoles = await roles.platformRoles(me.userId);
    const eligibilities = await platform.rbac.elevations.eligibilities(me.userId, null);
    const list = await platform.rbac.elevations.search(me.userId, status === undefined ? {} : { status });
    return c.html(
      <RolesPage
        frame={me}
        roles={platformRoles}
        eligibilities={eligibilities}
        elevations={list}
        status={status}
        notice={noticeOf(c)}
      />,
    );
  });
  for (const decision of ["approve", "deny"] as const)
    app.post(`/roles/elevations/:elevationId/${decision}`, async (c) => {
      const me = await operator(c);
      await form(c);
      await platform.rbac.elevations[decision](me.userId, c.req.param("elevationId"), request(c));
      return c.redirect(`/roles?done=${decision === "approve" ? "approved" : "denied"}`, 303);
    });

  // ── Settings: the configuration, the signing keys. ──
  const settingsPage = async (
    c: Context<AppEnv>,
    me: Operator,
    extra: { test?: { id: string; result: DiscoveryCheck }; error?: string; values?: Record<string, string> } = {},
  ) => {
    const { settings, signingKeys } = await platform.settings.read(me.userId);
    const providers = await platform.oauthProviders.list(me.userId);
    return c.html(
      <SettingsPage
        frame={me}
        settings={settings}
        signingKeys={signingKeys}
        providers={providers}
        notice={noticeOf(c)}
        test={extra.test}
        error={extra.error}
        values={extra.values}
      />,
      extra.error === undefined ? 200 : 400,
    );
  };
  app.get("/settings", async (c) => settingsPage(c, await operator(c)));

  // ── Social sign-in providers added at run time: the service checks oauth_providers:manage and audits. ──
  const providerFields = (fields: Record<string, string>) => ({
    type: fields.type ?? "",
    issuer: fields.issuer ?? "",
    clientId: fields.clientId ?? "",
    scopes: (fields.scopes ?? "").split(/\s+/).filter((scope) => scope !== ""),
    trustEmail: fields.trustEmail === "yes",
  });
  const storedProvider = async (me: Operator, id: string) => {
    const provider = (await platform.oauthProviders.list(me.userId)).find(
      (entry) => entry.id === id && entry.source === "database",
    );
    if (provider === undefined) throw new PlatformError("not_found");
    return provider;
  };
  app.post("/settings/oauth-providers", async (c) => {
    const me = await operator(c);
    const fields = await form(c);
    return steppingUp(c, "/settings", async () => {
      try {
        await platform.oauthProviders.create(
          me.userId,
          { id: fields.id ?? "", clientSecret: fields.clientSecret ?? "", ...providerFields(fields) },
          request(c),
          me.session,
        );
      } catch (error) {
        if (!(error instanceof PlatformError) || (error.status !== 400 && error.status !== 409)) throw error;
        // The secret is not sent back into the page.
        const { clientSecret: _secret, ...values } = fields;
        return settingsPage(c, me, { error: problemText(error), values });
      }
      return c.redirect("/settings?done=provider-added", 303);
    });
  });
  app.get("/settings/oauth-providers/:providerId", async (c) => {
    const me = await operator(c);
    return c.html(<ProviderPage frame={me} provider={await storedProvider(me, c.req.param("providerId"))} />);
  });
  app.post("/settings/oauth-providers/:providerId", async (c) => {
    const me = await operator(c);
    const fields = await form(c);
    const id = c.req.param("providerId");
    const secret = fields.clientSecret ?? "";
    return steppingUp(c, `/settings/oauth-providers/${id}`, async () => {
      try {
        await platform.oauthProviders.update(
          me.userId,
          id,
          { ...providerFields(fields), ...(secret === "" ? {} : { clientSecret: secret }) },
          request(c),
          me.session,
        );
      } catch (error) {
        if (!(error instanceof PlatformError) || error.status !== 400) throw error;
        const { clientSecret: _secret, ...values } = fields;
        return c.html(
          <ProviderPage
            frame={me}
            provider={await storedProvider(me, id)}
            error={problemText(error)}
            values={values}
          />,
          400,
        );
      }
      return c.redirect("/settings?done=provider-saved", 303);
    });
  });
  for (const [action, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const)
    app.post(`/settings/oauth-providers/:providerId/${action}`, async (c) => {
      const me = await operator(c);
      await form(c);
      return steppingUp(c, "/settings", async () => {
        await platform.oauthProviders.update(me.userId, c.req.param("providerId"), { enabled }, request(c), me.session);
        return c.redirect(`/settings?done=provider-${action}d`, 303);
      });
    });
  app.post("/settings/oauth-providers/:providerId/test", async (c) => {
    const me = await operator(c);
    await form(c);
    const id = c.req.param("providerId");
    return settingsPage(c, me, { test: { id, result: await platform.oauthProviders.test(me.userId, id) } });
  });
  app.post("/settings/rotate-signing-key", async (c) => {
    const me = await operator(c);
    await form(c);
    return steppingUp(c, "/settings", async () => {
      await platform.settings.rotateSigningKey(me.session, request(c));
      return c.redirect("/settings?done=rotated", 303);
    });
  });

  // Each action: one service call, then back to the user's page with what happened.
  const actions: Record<string, (me: Operator, userId: UserId, c: Context<AppEnv>) => Promise<string>> = {
    suspend: async (me, userId, c) => {
      await platform.userAdministration.suspend(me.userId, userId, request(c));
      return `/users/${userId}?done=suspended`;
    },
    unsuspend: async (me, userId, c) => {
      await platform.userAdministration.unsuspend(me.userId, userId, request(c));
      return `/users/${userId}?done=unsuspended`;
    },
    unlock: async (me, userId, c) => {
      await platform.userAdministration.unlock(me.userId, userId, request(c));
      return `/users/${userId}?done=unlocked`;
    },
    "revoke-sessions": async (me, userId, c) => {
      await platform.userAdministration.revokeSessions(me.userId, userId, request(c), me.session);
      return `/users/${userId}?done=sessions-revoked`;
    },
    "password-reset": async (me, userId, c) => {
      await platform.userAdministration.sendPasswordReset(me.userId, userId, request(c));
      return `/users/${userId}?done=password-reset`;
    },
    "verify-email": async (me, userId, c) => {
      await platform.userAdministration.markEmailVerified(me.userId, userId, request(c));
      return `/users/${userId}?done=email-verified`;
    },
    delete: async (me, userId, c) => {
      await platform.userAdministration.delete(me.userId, userId, request(c), me.session);
      return "/users?done=deleted";
    },
  };
  for (const [name, act] of Object.entries(actions))
    app.post(`/users/:userId/${name}`, async (c) => {
      const me = await operator(c);
      await form(c);
      const userId = userIdOf(c);
      return steppingUp(c, `/users/${userId}`, async () => c.redirect(await act(me, userId, c), 303));
    });
  app.post("/users/:userId/impersonate", async (c) => {
    const me = await operator(c);
    await form(c);
    const userId = userIdOf(c);
    return steppingUp(c, `/users/${userId}`, async () => {
      const link = await platform.userAdministration.impersonate(me.userId, userId, request(c), me.session);
      const user = await platform.userAdministration.get(me.userId, userId);
      return c.html(<ImpersonationPage frame={me} user={user} url={link.url} expiresAt={link.expiresAt} />);
    });
  });
  // An added address: mark it verified, or remove it (never the account's last verified one).
  app.post("/users/:userId/emails/:emailId/:action{verify|remove}", async (c) => {
    const me = await operator(c);
    await form(c);
    const userId = userIdOf(c);
    const emailId = c.req.param("emailId");
    if (c.req.param("action") === "verify") {
      await platform.userAdministration.markAddressVerified(me.userId, userId, emailId, request(c));
      return c.redirect(`/users/${userId}?done=address-verified`, 303);
    }
    await platform.userAdministration.removeAddress(me.userId, userId, emailId, request(c));
    return c.redirect(`/users/${userId}?done=address-removed`, 303);
  });
  app.post("/users/:userId/factors/:factorId/remove", async (c) => {
    const me = await operator(c);
    await form(c);
    const userId = userIdOf(c);
    return steppingUp(c, `/users/${userId}`, async () => {
      await platform.userAdministration.removeFactor(
        me.userId,
        userId,
        c.req.param("factorId"),
        request(c),
        me.session,
      );
      return c.redirect(`/users/${userId}?done=factor-removed`, 303);
    });
  });
  app.post("/users/:userId/platform-roles", async (c) => {
    const me = await operator(c);
    const fields = await form(c);
    const userId = userIdOf(c);
    return steppingUp(c, `/users/${userId}`, async () => {
      await platform.rbac.roles.grantPlatformRole(me.session, userId, fields.role ?? "", request(c));
      return c.redirect(`/users/${userId}?done=role-granted`, 303);
    });
  });
  app.post("/users/:userId/platform-roles/:key/revoke", async (c) => {
    const me = await operator(c);
    await form(c);
    const userId = userIdOf(c);
    return steppingUp(c, `/users/${userId}`, async () => {
      await platform.rbac.roles.revokePlatformRole(me.session, userId, c.req.param("key"), request(c));
      return c.redirect(`/users/${userId}?done=role-revoked`, 303);
    });
  });
  app.post("/users/:userId/eligibilities", async (c) => {
    const me = await operator(c);
    const fields = await form(c);
    const userId = userIdOf(c);
    const approverPermission = (fields.approverPermission ?? "").trim();
    await platform.rbac.elevations.makeEligible(
      me.userId,
      null,
      { userId, role: fields.role ?? "", approverPermission: approverPermission === "" ? null : approverPermission },
      request(c),
    );
    return c.redirect(`/users/${userId}?done=eligibility-granted`, 303);
  });
  // Removing an eligibility, from the user's page or from the roles page: back to where it was.
  for (const [path, back] of [
    ["/users/:userId/eligibilities/:eligibilityId/revoke", (c: Context) => `/users/${userIdOf(c)}`],
    ["/roles/eligibilities/:eligibilityId/revoke", () => "/roles"],
  ] as const)
    app.post(path, async (c) => {
      const me = await operator(c);
      await form(c);
      const to = back(c);
      await platform.rbac.elevations.revokeEligibility(me.userId, null, c.req.param("eligibilityId") ?? "", request(c));
      return actionDone(c, to, "eligibility-revoked");
    });
  app.post("/users/:userId/api-keys/:keyId/revoke", async (c) => {
    const me = await operator(c);
    await form(c);
    const userId = userIdOf(c);
    await platform.userAdministration.revokeApiKey(me.userId, userId, c.req.param("keyId"), request(c));
    return actionDone(c, `/users/${userId}`, "key-revoked");
  });
  app.post("/users/:userId/sessions/:sessionId/revoke", async (c) => {
    const me = await operator(c);
    await form(c);
    const userId = userIdOf(c);
    await platform.userAdministration.revokeSession(me.userId, userId, c.req.param("sessionId"), request(c));
    return actionDone(c, `/users/${userId}`, "session-revoked");
  });

  app.notFound((c) => c.html(<ErrorPage status={404} message="There is no such page." />, 404));
  /**
   * The console page a refused form was posted from (its Referer, sent by our pages' same-origin
   * policy), to go back to; nothing for any other request or any other origin.
   */
  const postedFrom = (c: Context<AppEnv>): string | undefined => {
    if (c.req.method !== "POST") return undefined;
    const referer = URL.parse(c.req.header("referer") ?? "");
    // The whole URL, whose origin is the console's: a path alone could read as another host (`//…`).
    return referer !== null && referer.origin === config.adminUrl ? referer.href : undefined;
  };
  app.onError((error, c) => {
    if (error instanceof HTTPException && error.status === 303) return error.getResponse();
    if (error instanceof PlatformError && error.status < 500)
      return c.html(
        <ErrorPage status={error.status} message={problemText(error)} back={postedFrom(c)} />,
        error.status as 400,
      );
    // As the API logs it: a failed query's statement and driver code, never its parameters.
    if (isConcurrentChange(error)) {
      platform.log.error("concurrent change not answered by its service", {
        requestId: c.get("requestId"),
        error: describeError(error),
      });
      return c.html(<ErrorPage status={409} message={CONCURRENT_CHANGE_DETAIL} back={postedFrom(c)} />, 409);
    }
    platform.log.error("admin request failed", { requestId: c.get("requestId"), error: describeError(error) });
    return c.html(
      <ErrorPage status={500} message={`Something went wrong. Request id: ${c.get("requestId") ?? "unknown"}`} />,
      500,
    );
  });
  return app;
}
