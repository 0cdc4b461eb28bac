import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createLogger, queryRows, secretHash, type Database } from "@burrow/platform-core";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { createTestMailServer } from "@burrow/platform-email/testing";
import { BEARER_CLIENT, createTestApi, grantPlatformPermissions, signUpUser, type TestApi } from "./helpers.ts";
import { startFakeTwilio } from "./twilio.ts";

// Known secrets are planted by running the real flows; then every place Burrow writes to — the log,
// the audit table, security events, the job queue, the outbox, webhook payloads, and every column of
// every table in the database — is searched for each of them.
describe("no secret is ever written to the logs, the audit log, security events, jobs, webhooks or the database", () => {
  let api: TestApi;
  const mail = createTestMailServer();
  const twilio = startFakeTwilio();
  const lines: string[] = [];
  const secrets = new Map<string, string>();
  let userId = "";
  const plant = (what: string, value: string | undefined) => {
    if (value === undefined || value.length < 6) throw new Error(`no ${what} to plant`);
    secrets.set(what, value);
    return value;
  };
  /** A session token (`ses_<id>.<secret>`), and its secret part on its own: the id is no secret. */
  const plantSession = (what: string, token: string | undefined) => {
    plant(what, token);
    plant(`${what}'s secret part`, token?.split(".")[1]);
    return token!;
  };
  const post = (path: string, json: unknown, headers: Record<string, string> = {}) =>
    api.request(path, { method: "POST", json, headers: { ...BEARER_CLIENT, ...headers } });
  const json = async (response: Response) => {
    expect(response.status).toBeLessThan(300);
    return response.json();
  };

  beforeAll(async () => {
    api = await createTestApi(
      { BURROW_WEBHOOK_ALLOW_LOOPBACK: "1", ...twilio.env },
      // The real logger at its most talkative, writing into the test instead of stderr.
      { mail, log: createLogger({ level: "debug", write: (line) => void lines.push(line) }) },
    );
    // An endpoint for every event: each flow below also writes webhook payloads.
    const operator = await signUpUser(api);
    await grantPlatformPermissions(api, operator.id, ["webhooks:manage"]);
    await api.platform.webhooks.create(operator.id, { url: "http://127.0.0.1:9/hook", eventTypes: ["*"] }, {});
  });
  afterAll(async () => {
    await api.close();
    await twilio.stop();
  });

  test("through sign-up, sign-in, MFA, tokens, API keys, links and codes", async () => {
    const email = "carol@example.com";
    const password = plant("password", "planted purple passphrase 7");
    const wrong = plant("wrong password", "planted wrong passphrase 9");
    const signedUp = await json(await post("/v1/auth/sign-up", { email, password }));
    plantSession("sign-up session token", signedUp.sessionToken);
    userId = signedUp.user.id;
    // The address's verification link, left unused: the first proof of an address ends what was set up
    // before it (the password and sessions; see docs/security.md), which the flows below rely on.
    await post("/v1/auth/email/verify/resend", { email });
    await api.runJobs();
    plant("verification token", mail.linkTo(email, "/auth/verify-email").searchParams.get("token")!);
    await post("/v1/auth/sign-in", { email, password: wrong });
    const session = plantSession(
      "session token",
      (await json(await post("/v1/auth/sign-in", { email, password }))).sessionToken,
    );
    const bearer = { authorization: `Bearer ${session}` };

    // A refresh-token chain (before a second factor, which the password grant would then ask for): the
    // token first issued is rotated once, so both a used and a live one are at rest.
    const granted = await json(await post("/v1/auth/token", { grantType: "password", email, password }));
    plant("granted access token", granted.accessToken);
    plant("refresh token (rotated)", granted.refreshToken);
    const refreshed = await json(
      await post("/v1/auth/token", { grantType: "refresh_token", refreshToken: granted.refreshToken }),
    );
    plant("refreshed access token", refreshed.accessToken);
    plant("refresh token (live)", refreshed.refreshToken);

    // An authenticator app and recovery codes.
    const enrolment = await json(await post("/v1/mfa/totp/enroll", {}, bearer));
    plant("TOTP secret", enrolment.secret);
    const code = referenceTotp(enrolment.secret, Math.floor(api.clock.now().getTime() / 1000));
    const confirmed = await json(await post("/v1/mfa/totp/confirm", { factorId: enrolment.factorId, code }, bearer));
    confirmed.recoveryCodes.forEach((recovery: string, index: number) => plant(`recovery code ${index}`, recovery));
    api.clock.advance(30_000);

    // A second-factor sign-in: the mfaToken and the code.
    const challenge = await json(await post("/v1/auth/sign-in", { email, password }));
    plant("mfa token", challenge.mfaToken);
    const totp = plant("TOTP code", referenceTotp(enrolment.secret, Math.floor(api.clock.now().getTime() / 1000)));
    const verified = await json(
      await post("/v1/auth/mfa/verify", { mfaToken: challenge.mfaToken, method: "totp", code: totp }),
    );
    const strong = { authorization: `Bearer ${plantSession("MFA session token", verified.sessionToken)}` };

    // Access and refresh tokens, and an API key used once.
    const tokens = await json(await post("/v1/auth/token", { grantType: "session" }, strong));
    plant("access token", tokens.accessToken);
    const key = await json(await post("/v1/api-keys", { name: "planted", scopes: ["profile:read"] }, strong));
    plant("API key", key.secret);
    expect((await api.request("/v1/me", { headers: { "x-api-key": key.secret } })).status).toBe(200);

    // A phone number's texted code (an OTP), used.
    const phone = "+14155550142";
    expect((await post("/v1/me/phones", { phone }, strong)).status).toBe(202);
    await api.runJobs();
    const texted = plant(
      "texted code",
      /\b(\d{6})\b/.exec(twilio.texts.findLast((text) => text.to === phone)?.body ?? "")?.[1],
    );
    await json(await post("/v1/me/phones/verify", { phone, code: texted }, strong));

    // An invitation to an organization, for an address with no account yet.
    const org = await json(await post("/v1/orgs", { name: "Planted" }, strong));
    await json(await post(`/v1/orgs/${org.id}/invitations`, { email: "dave@example.com", role: "member" }, strong));
    await api.runJobs();
    plant("invitation token", mail.linkTo("dave@example.com", "/auth/accept-invitation").searchParams.get("token")!);

    // Mailed links and codes: a reset link (left unused), a magic link and an email sign-in code. The
    // magic link is the address's first proof, so it also ends the password and the sessions set up
    // before it (the flows that need a session come first); it asks for the second factor.
    await post("/v1/auth/password/forgot", { email });
    await api.runJobs();
    plant("reset token", mail.linkTo(email, "/auth/reset-password").searchParams.get("token")!);
    await post("/v1/auth/magic-link", { email });
    await api.runJobs();
    const magic = plant("magic-link token", mail.linkTo(email, "/auth/magic-link").searchParams.get("token")!);
    plant("magic link's mfa token", (await json(await post("/v1/auth/magic-link/verify", { token: magic }))).mfaToken);
    await post("/v1/auth/otp/email", { email });
    await api.runJobs();
    const mailed = mail.lastTo(email)!.text?.match(/\b\d{6}\b/)?.[0];
    plant("email code", mailed);
    await post("/v1/auth/otp/email/verify", { email, code: mailed });
    expect(secrets.size).toBeGreaterThan(25);
  });

  test("none of them appears anywhere Burrow wrote", async () => {
    const db = api.platform.db;
    const places: Record<string, string> = {
      log: lines.join("\n"),
      audit_logs: JSON.stringify(await queryRows(db, sql`select * from audit_logs`)),
      security_events: JSON.stringify(await queryRows(db, sql`select * from security_events`)),
      jobs: JSON.stringify(await queryRows(db, sql`select * from jobs`)),
      // Mail bodies hold links by design; at rest they are encrypted, so not even those are readable.
      email_messages: JSON.stringify(await queryRows(db, sql`select * from email_messages`)),
      webhook_deliveries: JSON.stringify(await queryRows(db, sql`select * from webhook_deliveries`)),
    };
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.some((line) => line.includes('"route":"/v1/auth/sign-in"'))).toBe(true);
    // The search reads what was written: what is not secret (the user's id) is there to be found.
    for (const where of ["log", "audit_logs", "webhook_deliveries"]) expect(places[where]).toContain(userId);
    const found: string[] = [];
    for (const [what, secret] of secrets)
      for (const [where, text] of Object.entries(places)) if (text.includes(secret)) found.push(`${what} in ${where}`);
    expect(found).toEqual([]);
  });

  test("none of them appears in any column of any table: tokens only as hashes, TOTP secrets only encrypted", async () => {
    const columns = await everyColumn(api.platform.db);
    // The search reads every table: the outbox (its metadata — address, subject, template, error — in
    // clear, its bodies encrypted), the refresh tokens' hashes, the user's row.
    expect(columns.has("email_messages.subject")).toBe(true);
    expect(columns.has("email_messages.text_encrypted")).toBe(true);
    expect(columns.get("users.id")).toContain(userId);
    expect(columns.get("email_messages.to")).toContain("carol@example.com");
    expect(columns.get("refresh_tokens.token_hash")).toContain(secretHash(secrets.get("refresh token (live)")!)!);
    expect(columns.size).toBeGreaterThan(100);
    const found: string[] = [];
    for (const [what, secret] of secrets) {
      // A secret kept as bytes (bytea) reads as hex when cast to text.
      const hex = Buffer.from(secret, "utf8").toString("hex");
      for (const [column, text] of columns)
        if (text.includes(secret) || text.includes(hex)) found.push(`${what} in ${column}`);
    }
    expect(found).toEqual([]);
  });
});

/**
 * Every column of every table in the database (any schema but the system's), cast to text, as
 * `table.column` (`schema.table.column` outside public) → its values joined by newlines.
 */
async function everyColumn(db: Database): Promise<Map<string, string>> {
  const listed = await queryRows<{ table_schema: string; table_name: string; column_name: string }>(
    db,
    sql`select c.table_schema, c.table_name, c.column_name
        from information_schema.columns c
        join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
        where t.table_type = 'BASE TABLE' and c.table_schema not in ('pg_catalog', 'information_schema')
        order by c.table_schema, c.table_name, c.ordinal_position`,
  );
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
  const tables = new Map<string, { schema: string; table: string; columns: string[] }>();
  for (const row of listed) {
    const key = `${row.table_schema}.${row.table_name}`;
    const entry = tables.get(key) ?? { schema: row.table_schema, table: row.table_name, columns: [] };
    entry.columns.push(row.column_name);
    tables.set(key, entry);
  }
  const texts = new Map<string, string>();
  for (const { schema, table, columns } of tables.values()) {
    // The names come from the catalogue, quoted: nothing here is user input.
    const select = columns.map((column, index) => `${quote(column)}::text as c${index}`).join(", ");
    const rows = await queryRows<Record<string, string | null>>(
      db,
      sql.raw(`select ${select} from ${quote(schema)}.${quote(table)}`),
    );
    const prefix = schema === "public" ? table : `${schema}.${table}`;
    columns.forEach((column, index) =>
      texts.set(`${prefix}.${column}`, rows.map((row) => row[`c${index}`] ?? "").join("\n")),
    );
  }
  return texts;
}
