import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import { createLogger, queryRows } from "@burrow/platform-core";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { createTestMailServer } from "@burrow/platform-email/testing";
import { BEARER_CLIENT, createTestApi, grantPlatformPermissions, signUpUser, type TestApi } from "./helpers.ts";

// Known secrets are planted by running the real flows; then every place Burrow writes to — the log,
// the audit table, security events, the job queue, the outbox, webhook payloads — is searched for each of them.
describe("no secret is ever written to the logs, the audit log, security events, jobs or webhooks", () => {
  let api: TestApi;
  const mail = createTestMailServer();
  const lines: string[] = [];
  const secrets = new Map<string, string>();
  let userId = "";
  const plant = (what: string, value: string | undefined) => {
    if (value === undefined || value.length < 6) throw new Error(`no ${what} to plant`);
    secrets.set(what, value);
    return value;
  };
  const post = (path: string, json: unknown, headers: Record<string, string> = {}) =>
    api.request(path, { method: "POST", json, headers: { ...BEARER_CLIENT, ...headers } });
  const json = async (response: Response) => {
    expect(response.status).toBeLessThan(300);
    return response.json();
  };

  beforeAll(async () => {
    api = await createTestApi(
      { BURROW_WEBHOOK_ALLOW_LOOPBACK: "1" },
      // The real logger at its most talkative, writing into the test instead of stderr.
      { mail, log: createLogger({ level: "debug", write: (line) => void lines.push(line) }) },
    );
    // An endpoint for every event: each flow below also writes webhook payloads.
    const operator = await signUpUser(api);
    await grantPlatformPermissions(api, operator.id, ["webhooks:manage"]);
    await api.platform.webhooks.create(operator.id, { url: "http://127.0.0.1:9/hook", eventTypes: ["*"] }, {});
  });
  afterAll(() => api.close());

  test("through sign-up, sign-in, MFA, tokens, API keys, links and codes", async () => {
    const email = "carol@example.com";
    const password = plant("password", "planted purple passphrase 7");
    const wrong = plant("wrong password", "planted wrong passphrase 9");
    const signedUp = await json(await post("/v1/auth/sign-up", { email, password }));
    plant("sign-up session token", signedUp.sessionToken);
    userId = signedUp.user.id;
    await post("/v1/auth/sign-in", { email, password: wrong });
    const session = plant(
      "session token",
      (await json(await post("/v1/auth/sign-in", { email, password }))).sessionToken,
    );
    const bearer = { authorization: `Bearer ${session}` };

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
    const strong = { authorization: `Bearer ${plant("MFA session token", verified.sessionToken)}` };

    // Access and refresh tokens, and an API key used once.
    const tokens = await json(await post("/v1/auth/token", { grantType: "session" }, strong));
    plant("access token", tokens.accessToken);
    const key = await json(await post("/v1/api-keys", { name: "planted", scopes: ["profile:read"] }, strong));
    plant("API key", key.secret);
    expect((await api.request("/v1/me", { headers: { "x-api-key": key.secret } })).status).toBe(200);

    // Mailed links and codes: a reset link and an email sign-in code.
    await post("/v1/auth/password/forgot", { email });
    await api.runJobs();
    plant("reset token", mail.linkTo(email).searchParams.get("token")!);
    await post("/v1/auth/otp/email", { email });
    await api.runJobs();
    const mailed = mail.lastTo(email)!.text?.match(/\b\d{6}\b/)?.[0];
    plant("email code", mailed);
    await post("/v1/auth/otp/email/verify", { email, code: mailed });
    expect(secrets.size).toBeGreaterThan(15);
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
});
