import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTestApi, readProblem, signUpUser, type TestApi, type TestUser } from "./helpers.ts";
import { startFakeTwilio } from "./twilio.ts";

describe("phone numbers", () => {
  let api: TestApi;
  const twilio = startFakeTwilio();
  let user: TestUser;
  beforeAll(async () => {
    api = await createTestApi(twilio.env);
    user = await signUpUser(api);
  });
  afterAll(async () => {
    await api.close();
    await twilio.stop();
  });

  const add = (who: TestUser, phone: string) =>
    api.request("/v1/me/phones", { method: "POST", headers: who.bearer, json: { phone } });
  const verify = (who: TestUser, phone: string, code: string) =>
    api.request("/v1/me/phones/verify", { method: "POST", headers: who.bearer, json: { phone, code } });
  const codeTo = (phone: string) =>
    /\b(\d{6})\b/.exec(twilio.texts.findLast((text) => text.to === phone)?.body ?? "")![1]!;

  test("a code is texted through the provider and confirms the number", async () => {
    const added = await add(user, "+14155550101");
    expect(added.status).toBe(202);
    expect((await added.json()).verifiedAt).toBeNull();
    await api.runJobs();
    const text = twilio.texts.at(-1)!;
    expect(text).toMatchObject({ to: "+14155550101", from: "+15550001111" });
    expect(text.body).toMatch(/^Burrow verification code: \d{6}\. It expires in 10 minutes/);
    const verified = await verify(user, "+14155550101", codeTo("+14155550101"));
    expect(verified.status).toBe(200);
    expect(await verified.json()).toMatchObject({ phone: "+14155550101", isPrimary: true });
    const list = await (await api.request("/v1/me/phones", { headers: user.bearer })).json();
    expect(
      list.data.map((phone: { phone: string; verifiedAt: string | null }) => [phone.phone, phone.verifiedAt !== null]),
    ).toEqual([["+14155550101", true]]);
  });

  test("a code dies after 5 wrong tries and is for its own number only", async () => {
    await add(user, "+14155550102");
    await api.runJobs();
    const code = codeTo("+14155550102");
    expect((await readProblem(await verify(user, "+14155550199", code))).code).toBe("invalid_code");
    const wrong = code === "000000" ? "111111" : "000000";
    // A try against another number does not touch this code; five misses on it do.
    for (let attempt = 0; attempt < 5; attempt++)
      expect((await readProblem(await verify(user, "+14155550102", wrong))).code).toBe("invalid_code");
    expect((await readProblem(await verify(user, "+14155550102", code))).code).toBe("invalid_code");
  });

  test("an unverified claim does not block the owner; a verified number belongs to one account", async () => {
    const squatter = await signUpUser(api);
    const owner = await signUpUser(api);
    expect((await add(squatter, "+14155550103")).status).toBe(202);
    await api.runJobs();
    await add(owner, "+14155550103");
    await api.runJobs();
    expect((await verify(owner, "+14155550103", codeTo("+14155550103"))).status).toBe(200);
    await add(squatter, "+14155550103");
    await api.runJobs();
    const taken = await verify(squatter, "+14155550103", codeTo("+14155550103"));
    expect(taken.status).toBe(409);
    expect((await readProblem(taken)).code).toBe("phone_taken");
  });

  test("texts are rate limited, bad input is refused, and only the owner removes a number", async () => {
    const texter = await signUpUser(api);
    for (let index = 0; index < 3; index++) expect((await add(texter, `+1415555020${index}`)).status).toBe(202);
    const limited = await add(texter, "+14155550209");
    expect(limited.status).toBe(429);
    expect((await readProblem(limited)).code).toBe("rate_limited");
    for (const phone of ["4155550101", "+0155550101", "+1 415 555 0101", "+14155550101999999", "tel:+14155550101"]) {
      expect((await readProblem(await add(texter, phone))).code).toBe("validation_failed");
    }
    const [phone] = (await (await api.request("/v1/me/phones", { headers: user.bearer })).json()).data;
    expect((await api.request(`/v1/me/phones/${phone.id}`, { method: "DELETE", headers: texter.bearer })).status).toBe(
      404,
    );
    expect(
      (await readProblem(await api.request("/v1/me/phones/nope", { method: "DELETE", headers: texter.bearer }))).code,
    ).toBe("invalid_id");
    expect((await api.request(`/v1/me/phones/${phone.id}`, { method: "DELETE", headers: user.bearer })).status).toBe(
      204,
    );
    expect((await api.request(`/v1/me/phones/${phone.id}`, { method: "DELETE", headers: user.bearer })).status).toBe(
      404,
    );
  });

  test("a provider outage is retried", async () => {
    const patient = await signUpUser(api);
    twilio.setFailing(true);
    await add(patient, "+14155550300");
    await api.runJobs();
    expect(twilio.texts.some((text) => text.to === "+14155550300")).toBe(false);
    twilio.setFailing(false);
    api.clock.advance(30_000);
    await api.runJobs();
    expect(twilio.texts.some((text) => text.to === "+14155550300")).toBe(true);
  });
});

describe("development text messages", () => {
  test("are kept for the /dev/sms page", async () => {
    const api = await createTestApi();
    try {
      const user = await signUpUser(api);
      await api.request("/v1/me/phones", { method: "POST", headers: user.bearer, json: { phone: "+14155550400" } });
      await api.runJobs();
      const page = await (await api.request("/dev/sms")).text();
      expect(page).toContain("+14155550400");
      expect(page).toMatch(/verification code: \d{6}/);
    } finally {
      await api.close();
    }
  });
});
