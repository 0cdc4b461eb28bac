import { afterAll, afterEach, beforeAll, describe, expect, setSystemTime, test } from "bun:test";
import { and, eq, isNotNull } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { verifyWebhook, WebhookVerificationError } from "@burrow/platform-ops/webhook-verify";
import { auditLogs, jobs, securityEvents } from "@burrow/platform-core/schema";
import { webhookDeliveries, webhookEndpoints } from "@burrow/platform-ops/schema";
import { heldOpen, untilWaiting } from "@burrow/platform-core/testing";
import type { Database } from "@burrow/platform-core";
import { retryDelayMs, WEBHOOK_EVENT_TYPES, WEBHOOK_MAX_ATTEMPTS } from "@burrow/platform-ops";
import {
  createTestApi,
  grantPlatformPermissions,
  post,
  readProblem,
  signUpUser,
  type TestApi,
  type TestUser,
} from "./helpers.ts";

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** A local HTTP receiver: records every request, and answers as `behaviour[path]` says (200 by default). */
function createReceiver() {
  const received: Received[] = [];
  const behaviour = new Map<string, "fail" | "hang" | "redirect" | "huge">();
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const path = new URL(request.url).pathname;
      received.push({ path, headers: Object.fromEntries(request.headers), body: await request.text() });
      const mode = behaviour.get(path);
      if (mode === "fail") return new Response("down for maintenance", { status: 503 });
      if (mode === "hang") return new Promise<Response>(() => {});
      if (mode === "redirect") return Response.redirect("http://169.254.169.254/latest/meta-data/", 302);
      if (mode === "huge") return new Response("x".repeat(10 * 1024 * 1024));
      return new Response("ok");
    },
  });
  return {
    received,
    behaviour,
    url: (path: string) => `http://127.0.0.1:${server.port}${path}`,
    to: (path: string) => received.filter((message) => message.path === path),
    stop: () => server.stop(true),
  };
}

/** Verifies a received message exactly as a receiver using the `standardwebhooks` package would. */
function verify(secret: string, message: Received, at: Date): { type: string; data: Record<string, unknown> } {
  setSystemTime(at);
  try {
    return new Webhook(secret).verify(message.body, message.headers) as { type: string; data: Record<string, unknown> };
  } finally {
    setSystemTime();
  }
}

describe("webhooks", () => {
  let api: TestApi;
  let operator: TestUser;
  let reader: TestUser;
  const receiver = createReceiver();
  const admin = (method: string, path: string, json?: unknown, user = operator) =>
    api.request(path, { method, headers: user.bearer, ...(json === undefined ? {} : { json }) });
  const createEndpoint = async (body: Record<string, unknown>) => {
    const response = await admin("POST", "/v1/admin/webhooks", body);
    expect(response.status).toBe(201);
    return (await response.json()) as { id: string; secret: string; enabled: boolean };
  };
  const deliveriesOf = (endpointId: string) =>
    api.database.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.endpointId, endpointId));
  /** An endpoint at `path` whose every attempt fails, with a new user's profile changes (`names`) queued to it. */
  const failingEndpoint = async (path: string, eventTypes: string[], names: string[]) => {
    const endpoint = await createEndpoint({ url: receiver.url(path), eventTypes });
    receiver.behaviour.set(path, "fail");
    const user = await signUpUser(api);
    for (const name of names)
      expect((await api.request("/v1/me", { method: "PATCH", headers: user.bearer, json: { name } })).status).toBe(200);
    return endpoint;
  };
  /** The endpoint's row locked, as its deletion and every attempt's record take it first. */
  const holdingEndpoint = (endpointId: string) => async (tx: Database) => {
    await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpointId)).for("update");
  };

  beforeAll(async () => {
    api = await createTestApi({
      BURROW_WEBHOOK_ALLOW_LOOPBACK: "1",
      BURROW_WEBHOOK_TIMEOUT: "1s",
      BURROW_WEBHOOK_DISABLE_AFTER: "4",
    });
    operator = await signUpUser(api);
    await grantPlatformPermissions(api, operator.id, ["webhooks:read", "webhooks:manage", "audit:read"]);
    reader = await signUpUser(api);
    await grantPlatformPermissions(api, reader.id, ["webhooks:read"]);
  });
  afterAll(async () => {
    receiver.stop();
    await api.close();
  });
  afterEach(() => setSystemTime());

  test("an event is signed per Standard Webhooks and verifies with the standardwebhooks package unchanged", async () => {
    const endpoint = await createEndpoint({ url: receiver.url("/users"), eventTypes: ["user.created"] });
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const ada = await signUpUser(api, { email: "ada.webhooks@example.com" });
    await api.runJobs();

    const [message] = receiver.to("/users");
    expect(message).toBeDefined();
    expect(message!.headers["webhook-id"]).toMatch(/^whd_/);
    expect(message!.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(message!.headers["content-type"]).toBe("application/json");
    const event = verify(endpoint.secret, message!, api.clock.now());
    expect(event.type).toBe("user.created");
    expect(event.data.object).toMatchObject({ type: "user", id: ada.id, email: "ada.webhooks@example.com" });
    expect(event.data.actor).toEqual({ type: "user", id: ada.id });
    // A changed body, another secret or an old timestamp do not verify.
    expect(() =>
      verify(endpoint.secret, { ...message!, body: message!.body.replace("ada", "eve") }, api.clock.now()),
    ).toThrow();
    expect(() => verify(`whsec_${Buffer.alloc(32, 1).toString("base64")}`, message!, api.clock.now())).toThrow();
    expect(() => verify(endpoint.secret, message!, new Date(api.clock.now().getTime() + 10 * 60_000))).toThrow();
    // Burrow's own verifier for receivers (@burrow/platform-ops/webhook-verify) agrees on each.
    const ours = (secret: string | string[], received: Received, at: Date) =>
      verifyWebhook(secret, { headers: received.headers, body: received.body }, { now: at });
    expect(ours(endpoint.secret, message!, api.clock.now())).toEqual(event as never);
    expect(
      ours([`whsec_${Buffer.alloc(32, 1).toString("base64")}`, endpoint.secret], message!, api.clock.now()).type,
    ).toBe("user.created");
    expect(() =>
      ours(endpoint.secret, { ...message!, body: message!.body.replace("ada", "eve") }, api.clock.now()),
    ).toThrow(WebhookVerificationError);
    expect(() => ours(`whsec_${Buffer.alloc(32, 1).toString("base64")}`, message!, api.clock.now())).toThrow(
      "no signature matches",
    );
    expect(() => ours(endpoint.secret, message!, new Date(api.clock.now().getTime() + 10 * 60_000))).toThrow(
      "outside the tolerance",
    );
    expect(() =>
      ours(
        endpoint.secret,
        { ...message!, headers: { ...message!.headers, "webhook-id": undefined } as never },
        api.clock.now(),
      ),
    ).toThrow("missing webhook-id");

    const [delivery] = await deliveriesOf(endpoint.id);
    expect(delivery).toMatchObject({
      status: "succeeded",
      attempts: 1,
      responseStatus: 200,
      eventType: "user.created",
    });
    expect(delivery!.id).toBe(message!.headers["webhook-id"]!);

    // An account an operator makes (burrow create-admin) is a user.created too, by the system.
    const made = await api.platform.operator.createAdmin("made.by.operator@example.com");
    await api.runJobs();
    const byOperator = verify(endpoint.secret, receiver.to("/users").at(-1)!, api.clock.now());
    expect(byOperator.data.object).toMatchObject({ id: made.userId, email: "made.by.operator@example.com" });
    expect(byOperator.data.actor).toEqual({ type: "system" });
    await admin("DELETE", `/v1/admin/webhooks/${endpoint.id}`);
  });

  test("an endpoint gets only the event types it asked for; a rolled-back change sends nothing", async () => {
    const endpoint = await createEndpoint({
      url: receiver.url("/sessions"),
      eventTypes: ["session.created", "session.revoked"],
    });
    const weak = await post(api, "/v1/auth/sign-up", { email: "weak@example.com", password: "short" });
    expect(weak.status).toBe(422);
    const user = await signUpUser(api);
    const signOut = await api.request("/v1/auth/sign-out", { method: "POST", headers: user.bearer });
    expect(signOut.status).toBeLessThan(300);
    await api.runJobs();
    const types = receiver.to("/sessions").map((message) => (JSON.parse(message.body) as { type: string }).type);
    // Deliveries run side by side: order is not promised (docs/webhooks.md), the set is.
    expect(types.sort()).toEqual(["session.created", "session.revoked"]);
    await admin("DELETE", `/v1/admin/webhooks/${endpoint.id}`);
  });

  test("a failing receiver is retried with growing, jittered delays and gets the same message once it recovers", async () => {
    receiver.behaviour.set("/flaky", "fail");
    const endpoint = await createEndpoint({ url: receiver.url("/flaky"), eventTypes: ["user.created"] });
    await signUpUser(api);
    await api.runJobs();
    const gaps: number[] = [];
    for (let attempt = 1; attempt <= 2; attempt++) {
      const [pending] = await deliveriesOf(endpoint.id);
      expect(pending).toMatchObject({ status: "pending", attempts: attempt, responseStatus: 503 });
      const gap = pending!.nextAttemptAt!.getTime() - api.clock.now().getTime();
      gaps.push(gap);
      const base = 12 * 60_000 * 2 ** (attempt - 1);
      expect(gap).toBeGreaterThanOrEqual(base * 0.8);
      expect(gap).toBeLessThanOrEqual(base * 1.2);
      // Not due yet: nothing is sent.
      api.clock.advance(gap - 1000);
      await api.runJobs();
      expect(receiver.to("/flaky")).toHaveLength(attempt);
      api.clock.advance(1000);
      await api.runJobs();
    }
    expect(gaps[1]!).toBeGreaterThan(gaps[0]!);
    receiver.behaviour.delete("/flaky");
    const [pending] = await deliveriesOf(endpoint.id);
    api.clock.set(pending!.nextAttemptAt!);
    await api.runJobs();
    const messages = receiver.to("/flaky");
    expect(messages).toHaveLength(4);
    expect(new Set(messages.map((message) => message.headers["webhook-id"])).size).toBe(1);
    expect(verify(endpoint.secret, messages.at(-1)!, api.clock.now()).type).toBe("user.created");
    const [delivered] = await deliveriesOf(endpoint.id);
    expect(delivered).toMatchObject({ status: "succeeded", attempts: 4, responseStatus: 200, lastError: null });
    await admin("DELETE", `/v1/admin/webhooks/${endpoint.id}`);
  });

  test.skipIf(process.env.DATABASE_URL === undefined)(
    "an endpoint deleted while an audited change is under way: the change goes through, with no delivery to it (PostgreSQL)",
    async () => {
      const endpoint = await createEndpoint({ url: receiver.url("/deleted-meanwhile"), eventTypes: ["*"] });
      const user = await signUpUser(api);
      // The endpoint's removal as the service makes it, held open before its commit.
      const removal = await heldOpen(api.database.db, async (tx) => {
        await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
      });
      const changing = api.request("/v1/me", { method: "PATCH", headers: user.bearer, json: { name: "Changed" } });
      expect(await untilWaiting(api.database.db, [changing])).toBe(1);
      const [changed] = await removal.settle([changing]);
      // Before, the change queued a delivery to the endpoint it had read, whose foreign key then found
      // it deleted: the user's own request failed, 409 conflict.
      expect(changed.status).toBe(200);
      expect(await deliveriesOf(endpoint.id)).toEqual([]);
    },
  );

  test.skipIf(process.env.DATABASE_URL === undefined)(
    "a failed attempt and the endpoint's deletion at the same moment: one after the other, no deadlock (PostgreSQL)",
    async () => {
      const endpoint = await failingEndpoint("/failing-while-deleted", ["*"], ["Queued"]);
      expect((await deliveriesOf(endpoint.id)).length).toBeGreaterThan(0);
      // The deletion as the service makes it: the endpoint's row, held open, then its deliveries by cascade.
      const removal = await heldOpen(api.database.db, holdingEndpoint(endpoint.id), async (tx) => {
        await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
      });
      const attempting = api.runJobs();
      expect(await untilWaiting(api.database.db, [attempting])).toBe(1);
      // Before, the attempt wrote its delivery's row and then waited for the endpoint's, which the
      // deletion's cascade then needed: PostgreSQL killed one of the two (40P01).
      await removal.settle([attempting]);
      const failedJobs = await api.database.db
        .select({ lastError: jobs.lastError })
        .from(jobs)
        .where(and(eq(jobs.type, "webhook.deliver"), isNotNull(jobs.lastError)));
      expect(failedJobs).toEqual([]);
      expect(await deliveriesOf(endpoint.id)).toEqual([]);
    },
  );

  test.skipIf(process.env.DATABASE_URL === undefined)(
    "two failed attempts at one endpoint, the second disabling it: one after the other, no deadlock (PostgreSQL)",
    async () => {
      const endpoint = await failingEndpoint("/failing-twice", ["user.updated"], ["First", "Second"]);
      const deliveryIds = (await deliveriesOf(endpoint.id)).map((delivery) => delivery.id);
      expect(deliveryIds).toHaveLength(2);
      // One failure short of disabling (BURROW_WEBHOOK_DISABLE_AFTER=4): the next failure disables it, and
      // gives up every delivery still pending there — the other attempt's included.
      await api.database.db
        .update(webhookEndpoints)
        .set({ consecutiveFailures: 3 })
        .where(eq(webhookEndpoints.id, endpoint.id));
      const queued = (
        await api.database.db
          .select()
          .from(jobs)
          .where(and(eq(jobs.type, "webhook.deliver"), eq(jobs.status, "queued")))
      ).filter((job) => deliveryIds.includes((job.payload as { deliveryId: string }).deliveryId));
      expect(queued).toHaveLength(2);
      // Another change to the endpoint held open at its row, so that both attempts reach their records together.
      const held = await heldOpen(api.database.db, holdingEndpoint(endpoint.id));
      const deliver = api.platform.webhooks.jobs["webhook.deliver"]!;
      const attempts = queued.map((job) =>
        deliver.run(job.payload, job).then(
          () => "recorded",
          (error: unknown) => String(error),
        ),
      );
      expect(await untilWaiting(api.database.db, attempts)).toBe(2);
      // Before, each attempt wrote its own delivery's row and then waited for the endpoint's; the one that
      // disabled it then needed the other's delivery row: PostgreSQL killed one of the two (40P01).
      expect(await held.settle(attempts)).toEqual(["recorded", "recorded"]);
      const [shown] = await api.database.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
      expect(shown).toMatchObject({ enabled: false, disabledReason: "failing" });
      expect((await deliveriesOf(endpoint.id)).map((delivery) => delivery.status)).toEqual(["failed", "failed"]);
      receiver.behaviour.delete("/failing-twice");
      expect((await admin("DELETE", `/v1/admin/webhooks/${endpoint.id}`)).status).toBe(204);
    },
  );

  test("the retry schedule is 8 attempts over about a day", () => {
    const middle = () => 0.5;
    let total = 0;
    for (let attempt = 1; attempt < WEBHOOK_MAX_ATTEMPTS; attempt++) total += retryDelayMs(attempt, middle);
    expect(total / 3_600_000).toBeGreaterThan(18);
    expect(total / 3_600_000).toBeLessThan(30);
    expect(retryDelayMs(1, () => 0)).toBeCloseTo(0.8 * 12 * 60_000, 0);
    expect(retryDelayMs(1, () => 1)).toBeCloseTo(1.2 * 12 * 60_000, 0);
  });

  test("after N failed attempts in a row the endpoint is disabled, with a security event; enabling it again and redelivering works", async () => {
    receiver.behaviour.set("/dead", "fail");
    const endpoint = await createEndpoint({ url: receiver.url("/dead"), eventTypes: ["user.created"] });
    await signUpUser(api);
    await api.runJobs();
    for (let round = 0; round < 3; round++) {
      const [pending] = await deliveriesOf(endpoint.id);
      api.clock.set(pending!.nextAttemptAt!);
      await api.runJobs();
    }
    const shown = await (await admin("GET", `/v1/admin/webhooks/${endpoint.id}`)).json();
    expect(shown).toMatchObject({ enabled: false, disabledReason: "failing", consecutiveFailures: 4 });
    const [event] = await api.database.db
      .select()
      .from(securityEvents)
      .where(eq(securityEvents.kind, "webhook_endpoint_disabled"));
    expect(event?.severity).toBe("medium");
    const [delivery] = await deliveriesOf(endpoint.id);
    expect(delivery?.status).toBe("failed");
    // A disabled endpoint receives nothing new.
    const before = receiver.to("/dead").length;
    await signUpUser(api);
    await api.runJobs();
    expect(receiver.to("/dead")).toHaveLength(before);

    const refused = await admin("POST", `/v1/admin/webhooks/deliveries/${delivery!.id}/redeliver`);
    expect((await readProblem(refused)).code).toBe("conflict");
    receiver.behaviour.delete("/dead");
    const enabled = await admin("PATCH", `/v1/admin/webhooks/${endpoint.id}`, { enabled: true });
    expect(await enabled.json()).toMatchObject({ enabled: true, disabledReason: null, consecutiveFailures: 0 });
    const redelivered = await admin("POST", `/v1/admin/webhooks/deliveries/${delivery!.id}/redeliver`);
    expect(redelivered.status).toBe(202);
    await api.runJobs();
    const last = receiver.to("/dead").at(-1)!;
    expect(last.headers["webhook-id"]).toBe(delivery!.id);
    const list = await (await admin("GET", `/v1/admin/webhooks/${endpoint.id}/deliveries?status=succeeded`)).json();
    expect(list.data.map((row: { id: string }) => row.id)).toEqual([delivery!.id]);
    const [audited] = await api.database.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "webhook.redelivered"), eq(auditLogs.targetId, endpoint.id)));
    expect(audited?.actorId).toBe(operator.id);
    await admin("DELETE", `/v1/admin/webhooks/${endpoint.id}`);
  });

  test("a rotated secret signs beside the new one for 24 hours, then alone", async () => {
    const endpoint = await createEndpoint({ url: receiver.url("/rotate"), eventTypes: ["user.created"] });
    const rotated = await admin("POST", `/v1/admin/webhooks/${endpoint.id}/rotate-secret`);
    const { secret } = (await rotated.json()) as { secret: string };
    expect(secret).not.toBe(endpoint.secret);
    await signUpUser(api);
    await api.runJobs();
    const during = receiver.to("/rotate").at(-1)!;
    expect(during.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(verify(endpoint.secret, during, api.clock.now()).type).toBe("user.created");
    expect(verify(secret, during, api.clock.now()).type).toBe("user.created");
    api.clock.advance(24 * 3_600_000 + 1000);
    await signUpUser(api);
    await api.runJobs();
    const after = receiver.to("/rotate").at(-1)!;
    expect(after.headers["webhook-signature"]!.split(" ")).toHaveLength(1);
    expect(verify(secret, after, api.clock.now()).type).toBe("user.created");
    expect(() => verify(endpoint.secret, after, api.clock.now())).toThrow();
    await admin("DELETE", `/v1/admin/webhooks/${endpoint.id}`);
  });

  test("redirects are not followed, a receiver that never answers times out without holding up others, a huge answer is cut", async () => {
    receiver.behaviour.set("/redirect", "redirect");
    receiver.behaviour.set("/slow", "hang");
    receiver.behaviour.set("/huge", "huge");
    const ids = await Promise.all(
      ["/redirect", "/slow", "/huge", "/fast"].map(
        async (path) => (await createEndpoint({ url: receiver.url(path), eventTypes: ["user.created"] })).id,
      ),
    );
    await signUpUser(api);
    await api.runJobs();
    const [redirect, slow, huge, fast] = await Promise.all(ids.map(async (id) => (await deliveriesOf(id))[0]!));
    expect(redirect).toMatchObject({ status: "pending", responseStatus: 302 });
    expect(redirect!.lastError).toContain("redirects are not followed");
    expect(receiver.received.some((message) => message.path === "/latest/meta-data/")).toBe(false);
    expect(slow).toMatchObject({ status: "pending", responseStatus: null });
    expect(slow!.lastError).toContain("no answer within 1 s");
    expect(huge).toMatchObject({ status: "succeeded", responseStatus: 200 });
    expect(fast).toMatchObject({ status: "succeeded", responseStatus: 200 });
    expect(fast!.responseTimeMs!).toBeLessThan(900);
    for (const id of ids) await admin("DELETE", `/v1/admin/webhooks/${id}`);
  });

  test("organization endpoints get that organization's events only", async () => {
    const owner = await signUpUser(api);
    const create = async (name: string) =>
      (
        (await (await api.request("/v1/orgs", { method: "POST", headers: owner.bearer, json: { name } })).json()) as {
          id: string;
        }
      ).id;
    const acme = await create("Acme Webhooks");
    const endpoint = await createEndpoint({
      url: receiver.url("/acme"),
      eventTypes: ["organization.updated"],
      orgId: acme,
    });
    const other = await create("Other Webhooks");
    for (const orgId of [acme, other])
      expect(
        (
          await api.request(`/v1/orgs/${orgId}`, {
            method: "PATCH",
            headers: owner.bearer,
            json: { name: `${orgId} renamed` },
          })
        ).status,
      ).toBe(200);
    await api.runJobs();
    const events = receiver
      .to("/acme")
      .map((message) => JSON.parse(message.body) as { type: string; data: { organizationId: string } });
    expect(events.map((event) => [event.type, event.data.organizationId])).toEqual([["organization.updated", acme]]);
    await admin("DELETE", `/v1/admin/webhooks/${endpoint.id}`);
  });

  test("bad URLs and event types are clear 400s and create nothing", async () => {
    const bad = [
      "ftp://example.com/hook",
      "not a url",
      "https://user:secret@example.com/hook",
      "http://10.0.0.7/hook",
      "http://172.16.3.4/hook",
      "http://192.168.1.1/hook",
      "http://169.254.169.254/latest/meta-data/",
      "http://100.64.0.1/hook",
      "http://0.0.0.0/hook",
      "http://[fd00:ec2::254]/hook",
      "http://[fe80::1]/hook",
      "http://[::ffff:10.0.0.1]/hook",
      "http://metadata.google.internal/computeMetadata/v1/",
    ];
    for (const url of bad) {
      const response = await admin("POST", "/v1/admin/webhooks", { url, eventTypes: ["user.created"] });
      const problem = await readProblem(response);
      expect([response.status, problem.code, url]).toEqual([400, "validation_failed", url]);
    }
    const unknownType = await admin("POST", "/v1/admin/webhooks", {
      url: receiver.url("/x"),
      eventTypes: ["user.exploded"],
    });
    expect(unknownType.status).toBe(400);
    const empty = await admin("POST", "/v1/admin/webhooks", { url: receiver.url("/x"), eventTypes: [] });
    expect(empty.status).toBe(400);
    const list = await (await admin("GET", "/v1/admin/webhooks")).json();
    expect(list.data).toEqual([]);
  });

  test("permissions, ids and cursors", async () => {
    const endpoint = await createEndpoint({ url: receiver.url("/perm"), eventTypes: ["user.created"] });
    expect((await admin("GET", "/v1/admin/webhooks", undefined, reader)).status).toBe(200);
    const denied = await admin("POST", "/v1/admin/webhooks", { url: receiver.url("/x"), eventTypes: ["*"] }, reader);
    expect((await readProblem(denied)).code).toBe("forbidden");
    expect((await admin("DELETE", `/v1/admin/webhooks/${endpoint.id}`, undefined, reader)).status).toBe(403);
    const stranger = await signUpUser(api);
    expect((await admin("GET", "/v1/admin/webhooks", undefined, stranger)).status).toBe(403);
    expect((await api.request("/v1/admin/webhooks")).status).toBe(401);
    expect((await admin("GET", "/v1/admin/webhooks/whk_nope")).status).toBe(400);
    expect((await admin("GET", `/v1/admin/webhooks/whk_${"0".repeat(26)}`)).status).toBe(404);
    expect((await admin("POST", `/v1/admin/webhooks/deliveries/whd_${"0".repeat(26)}/redeliver`)).status).toBe(404);
    const cursor = await admin("GET", `/v1/admin/webhooks/${endpoint.id}/deliveries?cursor=forged`);
    expect((await readProblem(cursor)).code).toBe("invalid_cursor");
    const patch = await admin("PATCH", `/v1/admin/webhooks/${endpoint.id}`, {});
    expect(patch.status).toBe(400);
    // The secret is shown at creation only.
    expect(JSON.stringify(await (await admin("GET", `/v1/admin/webhooks/${endpoint.id}`)).json())).not.toContain(
      "whsec_",
    );
    await admin("DELETE", `/v1/admin/webhooks/${endpoint.id}`);
  });

  test("every event type is documented in docs/webhooks.md", async () => {
    const docs = await Bun.file(`${import.meta.dir}/../../../docs/webhooks.md`).text();
    for (const type of WEBHOOK_EVENT_TYPES) expect(docs).toContain(`\`${type}\``);
  });
});
