import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { createAdminApp } from "../src/app.tsx";
import { createTestConsole, operatorWith, signInWithCode } from "./console.ts";
import { signUpUser, type TestApi, type TestUser } from "../../api/test/helpers.ts";

describe("the admin console's webhooks", () => {
  let api: TestApi;
  let admin: ReturnType<typeof createAdminApp>;
  let operator: TestUser;
  let secret: string;
  const received: string[] = [];
  const receiver = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      received.push(await request.text());
      return new Response("ok");
    },
  });
  beforeAll(async () => {
    ({ api, admin } = await createTestConsole({ BURROW_WEBHOOK_ALLOW_LOOPBACK: "1" }));
    ({ user: operator, secret } = await operatorWith(api, [
      "webhooks:read",
      "webhooks:manage",
      "users:read",
      "users:manage",
    ]));
  });
  afterAll(async () => {
    await receiver.stop(true);
    await api.close();
  });

  test("adds an endpoint (the secret shown once), sees its deliveries with their bodies, redelivers, disables", async () => {
    const browser = await signInWithCode(api, admin, operator, secret);
    await browser.get("/webhooks");
    expect(browser.lastHtml).toContain("No endpoints yet.");
    const url = `http://127.0.0.1:${receiver.port}/hooks`;
    const created = await browser.post("/webhooks", {
      url,
      description: "CRM sync",
      eventTypes: "user.suspended",
    });
    expect(created.status).toBe(201);
    expect(browser.lastHtml).toMatch(/<pre aria-label="Signing secret">whsec_[A-Za-z0-9+/=]+<\/pre>/);
    const endpointId = /href="\/webhooks\/([^"]+)"/.exec(browser.lastHtml)![1]!;

    // An event the endpoint wants: suspend someone, run the queue, see the delivery and its body.
    const target = await signUpUser(api);
    await api.platform.userAdministration.suspend(operator.id, target.id as never, {});
    await api.runJobs();
    expect(received.length).toBe(1);
    await browser.get(`/webhooks/${endpointId}`);
    expect(browser.lastHtml).toContain("user.suspended");
    expect(browser.lastHtml).toContain("HTTP 200");
    expect(browser.lastHtml).toContain(target.id);
    const deliveryId = /action="\/webhooks\/deliveries\/([^/]+)\/redeliver"/.exec(browser.lastHtml)![1]!;
    const redelivered = await browser.post(`/webhooks/deliveries/${deliveryId}/redeliver`, {});
    expect(redelivered.headers.get("location")).toBe(`/webhooks/${endpointId}?done=redelivered`);
    await api.runJobs();
    expect(received.length).toBe(2);

    // Save without "enabled": the endpoint is disabled, and a bad URL is said on the page.
    await browser.get(`/webhooks/${endpointId}`);
    const saved = await browser.post(`/webhooks/${endpointId}`, {
      url,
      description: "CRM sync",
      eventTypes: "user.suspended",
    });
    expect(saved.status).toBe(303);
    expect((await api.platform.webhooks.get(operator.id, endpointId)).enabled).toBe(false);
    await browser.get(`/webhooks/${endpointId}`);
    const bad = await browser.post(`/webhooks/${endpointId}`, { url: "not a url", eventTypes: "user.suspended" });
    expect(bad.status).toBe(400);
    await browser.get(`/webhooks/${endpointId}`);
    const rotated = await browser.post(`/webhooks/${endpointId}/rotate`, {});
    expect(rotated.status).toBe(200);
    expect(browser.lastHtml).toContain("The old secret keeps signing beside it for 24 hours.");
  });

  test("an operator who may only read sees no forms, and a direct post is refused", async () => {
    const { user: reader, secret: readerSecret } = await operatorWith(api, ["webhooks:read"]);
    const signedIn = await signInWithCode(api, admin, reader, readerSecret);
    await signedIn.get("/webhooks");
    expect(signedIn.lastHtml).not.toContain("Add an endpoint");
    const refused = await signedIn.post("/webhooks", { url: "https://example.com/x", eventTypes: "user.suspended" });
    expect(refused.status).toBe(403);
    expect(await api.platform.webhooks.list(reader.id)).toHaveLength(1);
  });
});
