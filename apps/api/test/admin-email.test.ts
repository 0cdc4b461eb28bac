import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  createTestApi,
  grantPlatformPermissions,
  readProblem,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

describe("/v1/admin/email-templates and /v1/admin/email-messages", () => {
  let api: TestApi;
  let operator: TestUser;
  let reader: TestUser;
  beforeAll(async () => {
    // Port 9 (discard) on loopback has no SMTP server: every send fails, so messages can run out of tries.
    api = await createTestApi({ SMTP_URL: "smtp://127.0.0.1:9" });
    operator = await signUpUser(api);
    reader = await signUpUser(api);
    await grantPlatformPermissions(api, operator.id, ["email:read", "email:manage", "audit:read"]);
    await grantPlatformPermissions(api, reader.id, ["email:read"]);
  });
  afterAll(() => api.close());

  const call = (path: string, user: TestUser, init: { method?: string; json?: unknown } = {}) =>
    api.request(path, { ...init, headers: user.bearer });

  test("reads a template, previews a draft without saving it, then saves it as the new version, audited", async () => {
    const list = (await (await call("/v1/admin/email-templates", reader)).json()) as { data: { key: string }[] };
    expect(list.data.map((row) => row.key)).toContain("auth.password_reset");
    const current = (await (await call("/v1/admin/email-templates/auth.password_reset", reader)).json()) as {
      version: number;
      subject: string;
      mjml: string;
      variables: string[];
    };
    expect(current.variables).toEqual(["url"]);
    const mjml = current.mjml.replace("A link to choose a new password.", "Preview marker: choose a new password.");
    expect(mjml).not.toBe(current.mjml);

    const preview = await call("/v1/admin/email-templates/auth.password_reset/preview", reader, {
      method: "POST",
      json: { subject: "Reset it, {{productName}}", mjml },
    });
    expect(preview.status).toBe(200);
    const rendered = (await preview.json()) as { subject: string; html: string };
    expect(rendered.html).toContain("Preview marker: choose a new password.");
    expect(rendered.html).toContain("/auth/example?token=sample");
    expect(rendered.subject).not.toContain("{{productName}}");
    const unchanged = (await (await call("/v1/admin/email-templates/auth.password_reset", reader)).json()) as {
      version: number;
    };
    expect(unchanged.version).toBe(current.version);

    const refused = await call("/v1/admin/email-templates/auth.password_reset", reader, {
      method: "PATCH",
      json: { subject: current.subject, mjml },
    });
    expect(refused.status).toBe(403);
    const saved = await call("/v1/admin/email-templates/auth.password_reset", operator, {
      method: "PATCH",
      json: { subject: current.subject, mjml },
    });
    expect(saved.status).toBe(200);
    expect(((await saved.json()) as { version: number }).version).toBe(current.version + 1);
    const audit = await api.platform.auditTrail.search(operator.id, { action: "email_template.updated" });
    expect(audit.data[0]).toMatchObject({ actorId: operator.id, targetId: "auth.password_reset:en" });
  });

  test("a draft that does not compile or uses an undeclared variable is a 400, and saves nothing", async () => {
    for (const mjml of ["<mjml><mj-body><mj-section><mj-column><mj-text>{{secret}}</mj-text>", "{{nope}}"]) {
      const response = await call("/v1/admin/email-templates/auth.password_reset/preview", operator, {
        method: "POST",
        json: { subject: "Subject", mjml },
      });
      expect(response.status).toBe(400);
    }
    const before = (await (await call("/v1/admin/email-templates/auth.password_reset", operator)).json()) as {
      version: number;
    };
    const bad = await call("/v1/admin/email-templates/auth.password_reset", operator, {
      method: "PATCH",
      json: { subject: "Subject", mjml: "<mjml><mj-body><mj-text>{{nope}}</mj-text></mj-body></mjml>" },
    });
    expect(bad.status).toBe(400);
    const after = (await (await call("/v1/admin/email-templates/auth.password_reset", operator)).json()) as {
      version: number;
    };
    expect(after.version).toBe(before.version);
    expect((await call("/v1/admin/email-templates/no.such_template", operator)).status).toBe(404);
    expect((await call("/v1/admin/email-templates/Bad Key!", operator)).status).toBe(400);
  });

  test("a test mail goes to the operator's own address; a message that gave up is retried once, then 409", async () => {
    const test = await call("/v1/admin/email-templates/auth.verify_email/test", operator, { method: "POST" });
    expect(test.status).toBe(202);
    const queued = (await test.json()) as { id: string; to: string; status: string };
    expect(queued).toMatchObject({ to: operator.email, status: "queued" });

    // Nothing listens on the SMTP port: each attempt fails, until the message is dead.
    for (let round = 0; round < 12; round++) {
      await api.runJobs();
      api.clock.advance(24 * 3_600_000);
    }
    // Twelve days on, the sessions have ended: the same permissions, on new sessions.
    const operatorNow = await signUpUser(api);
    const readerNow = await signUpUser(api);
    await grantPlatformPermissions(api, operatorNow.id, ["email:read", "email:manage"]);
    await grantPlatformPermissions(api, readerNow.id, ["email:read"]);
    const dead = (await (
      await call(`/v1/admin/email-messages?status=dead&to=${encodeURIComponent(operator.email)}`, readerNow)
    ).json()) as { data: { id: string; lastError: string | null }[] };
    expect(dead.data.map((row) => row.id)).toContain(queued.id);
    expect(JSON.stringify(dead.data)).not.toContain("htmlEncrypted");

    expect((await call(`/v1/admin/email-messages/${queued.id}/retry`, readerNow, { method: "POST" })).status).toBe(403);
    const retried = await call(`/v1/admin/email-messages/${queued.id}/retry`, operatorNow, { method: "POST" });
    expect(retried.status).toBe(200);
    expect(((await retried.json()) as { status: string; attempts: number }).status).toBe("queued");
    const again = await call(`/v1/admin/email-messages/${queued.id}/retry`, operatorNow, { method: "POST" });
    expect(again.status).toBe(409);
    expect((await readProblem(again)).code).toBe("conflict");
    expect((await call("/v1/admin/email-messages/msg_nope/retry", operatorNow, { method: "POST" })).status).toBe(404);
  });
});
