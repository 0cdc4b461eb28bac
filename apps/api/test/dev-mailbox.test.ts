import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApi, readProblem, type TestApi } from "./helpers.ts";

describe("development mailbox", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi();
  });
  afterAll(() => api.close());

  test("lists queued mail and shows each message with its links", async () => {
    const message = await api.platform.email.outbox.queue(api.platform.db, {
      to: "new@example.com",
      template: "auth.verify_email",
      variables: { url: "http://localhost:3000/verify?token=dev123" },
    });
    const list = await api.request("/dev/mailbox");
    expect(list.status).toBe(200);
    const listHtml = await list.text();
    expect(listHtml).toContain("new@example.com");
    // Linked relative to the list (/dev/mailbox), so it works under any mount prefix.
    expect(listHtml).toContain(`href="mailbox/${message.id}"`);
    const shown = await api.request(`/dev/mailbox/${message.id}`);
    expect(await shown.text()).toContain('href="http://localhost:3000/verify?token=dev123"');
    expect(shown.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect((await readProblem(await api.request("/dev/mailbox/nope"))).code).toBe("invalid_id");
    expect((await api.request("/dev/mailbox/msg_01m80w6abjfs8rxpmyhr2jmyty")).status).toBe(404);
  });

  test("is not mounted when SMTP is configured", async () => {
    const withSmtp = await createTestApi({ SMTP_URL: "smtp://127.0.0.1:2525" });
    try {
      expect((await withSmtp.request("/dev/mailbox")).status).toBe(404);
    } finally {
      await withSmtp.close();
    }
  });
});
