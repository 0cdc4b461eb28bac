import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { createTestMailServer } from "@burrow/platform-email/testing";
import { auditLogs, securityEvents } from "@burrow/platform-core/schema";
import { knownDevices } from "@burrow/platform-auth/schema";
import { describeDevice } from "@burrow/platform-auth";
import { createTestApi, ORIGIN, signIn, signUpUser, type TestApi, type TestUser } from "./helpers.ts";

const CHROME_MAC =
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const CHROME_MAC_UPDATED = CHROME_MAC.replace("Chrome/126.0.0.0", "Chrome/127.0.6533.72");
const FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";

describe("describeDevice", () => {
  test("names browser and system without versions, and apps by their own name", () => {
    expect(describeDevice(CHROME_MAC)).toBe("Chrome on macOS");
    expect(describeDevice(CHROME_MAC_UPDATED)).toBe("Chrome on macOS");
    expect(describeDevice(FIREFOX_WINDOWS)).toBe("Firefox on Windows");
    expect(
      describeDevice(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      ),
    ).toBe("Safari on iOS");
    expect(
      describeDevice(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
      ),
    ).toBe("Edge on Windows");
    expect(describeDevice("Acme/2.1 CFNetwork/1494.0.7 Darwin/23.4.0")).toBe("Acme on macOS");
    expect(describeDevice("curl/8.5.0")).toBe("curl");
    expect(describeDevice(undefined)).toBe("Unknown device");
    expect(describeDevice("")).toBe("Unknown device");
  });
});

describe("sign-in from a new device", () => {
  let api: TestApi;
  const mail = createTestMailServer();
  beforeAll(async () => {
    api = await createTestApi({}, { mail });
  });
  afterAll(() => api.close());

  const signInFrom = async (user: TestUser, userAgent: string) => {
    const response = await signIn(api, user.email, user.password, { headers: { "user-agent": userAgent } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { sessionToken: string }).sessionToken;
  };
  const newSignInMails = (to: string) =>
    mail.received.filter(
      (message) =>
        message.to !== undefined &&
        JSON.stringify(message.to).includes(to) &&
        message.subject?.startsWith("New sign-in"),
    );
  const eventsOf = (userId: string, kind: string) =>
    api.database.db
      .select()
      .from(securityEvents)
      .where(and(eq(securityEvents.userId, userId), eq(securityEvents.kind, kind)));
  const me = (token: string) => api.request("/v1/me", { headers: { authorization: `Bearer ${token}` } });
  const submit = (path: string, fields: Record<string, string>) =>
    api.request(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
      body: new URLSearchParams(fields).toString(),
    });

  test("the first device (at sign-up) is remembered quietly; the same browser after an update is not new", async () => {
    const user = await signUpUser(api, { userAgent: CHROME_MAC });
    await signInFrom(user, CHROME_MAC_UPDATED);
    await api.runJobs();
    expect(newSignInMails(user.email)).toHaveLength(0);
    expect(await eventsOf(user.id, "new_device_sign_in")).toHaveLength(0);
  });

  test("a new browser is audited, raises a low security event and mails the user a working 'this wasn't me' link", async () => {
    const user = await signUpUser(api, { userAgent: CHROME_MAC });
    const mine = await signInFrom(user, CHROME_MAC);
    const intruder = await signInFrom(user, FIREFOX_WINDOWS);
    // Both are known now: signing in from either again is nothing new.
    await signInFrom(user, FIREFOX_WINDOWS);
    await signInFrom(user, CHROME_MAC);
    await api.runJobs();

    const mails = newSignInMails(user.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain("Firefox on Windows");
    expect(mails[0]!.html).toContain("This wasn't me");
    const [event] = await eventsOf(user.id, "new_device_sign_in");
    expect(event?.severity).toBe("low");
    const [entry] = await api.database.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.targetId, user.id), eq(auditLogs.action, "user.new_device_sign_in")));
    expect(entry?.metadata).toMatchObject({ device: "Firefox on Windows" });
    const activity = await api.request("/v1/me/activity", { headers: { authorization: `Bearer ${mine}` } });
    expect(JSON.stringify(await activity.json())).toContain("user.new_device_sign_in");
    const devices = await api.database.db.select().from(knownDevices).where(eq(knownDevices.userId, user.id));
    expect(devices.map((device) => device.label).sort()).toEqual(["Chrome on macOS", "Firefox on Windows"]);

    // Opening the link (a mail scanner) changes nothing; the button ends every session.
    const link = mail.linkTo(user.email, "/auth/not-me");
    const opened = await api.request(`${link.pathname}${link.search}`);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toContain("Sign out everywhere");
    expect((await me(intruder)).status).toBe(200);
    const confirmed = await submit("/auth/not-me", { token: link.searchParams.get("token")! });
    expect(confirmed.status).toBe(200);
    // A link relative to the page (/auth/not-me), so it works under any mount prefix.
    expect(await confirmed.text()).toContain('href="forgot-password"');
    for (const token of [mine, intruder, user.token]) expect((await me(token)).status).toBe(401);
    const [disowned] = await eventsOf(user.id, "sign_in_disowned");
    expect(disowned?.severity).toBe("high");

    // The link works once.
    const again = await submit("/auth/not-me", { token: link.searchParams.get("token")! });
    expect(again.status).toBe(400);
    expect(await signIn(api, user.email, user.password, { headers: { "user-agent": CHROME_MAC } })).toHaveProperty(
      "status",
      200,
    );
  });

  test("a made-up or missing token is refused and ends nothing", async () => {
    const user = await signUpUser(api);
    const forged = await submit("/auth/not-me", { token: "x".repeat(43) });
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain("not valid");
    const empty = await api.request("/auth/not-me");
    expect(empty.status).toBe(400);
    expect((await me(user.token)).status).toBe(200);
    const json = await api.request("/auth/not-me", { method: "POST", json: { token: "x" } });
    expect(json.status).toBe(415);
  });
});
