import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createAdminApp } from "../src/app.tsx";
import { createTestApi, grantPlatformPermissions, signUpUser, type TestApi } from "../../api/test/helpers.ts";

// ASVS V3.3: the console's cookies as a browser on https gets them — host-only (__Host-), Secure,
// HttpOnly and SameSite=Strict, on a console that has its own origin.
const CONSOLE = "https://admin.example.com";

describe("the admin console's cookies over https", () => {
  let api: TestApi;
  let admin: ReturnType<typeof createAdminApp>;
  beforeAll(async () => {
    api = await createTestApi({ PUBLIC_URL: "https://id.example.com", ADMIN_URL: CONSOLE });
    admin = createAdminApp(api.platform);
  });
  afterAll(() => api.close());

  const attributesOf = (line: string) => line.split(/;\s*/);
  const expectHostOnlyStrict = (line: string, name: string) => {
    const [pair, ...attributes] = attributesOf(line);
    expect(pair).toStartWith(`__Host-${name}=`);
    for (const attribute of ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"])
      expect(attributes).toContain(attribute);
    expect(attributes.some((attribute) => attribute.toLowerCase().startsWith("domain="))).toBe(false);
  };

  test("the CSRF cookie and the console session are __Host-, Secure, HttpOnly and SameSite=Strict", async () => {
    const operator = await signUpUser(api);
    await grantPlatformPermissions(api, operator.id, ["users:read"]);
    const page = await admin.request(`${CONSOLE}/sign-in`, {}, { remoteAddress: "192.0.2.20" });
    expect(page.status).toBe(200);
    const [csrfCookie] = page.headers.getSetCookie();
    expectHostOnlyStrict(csrfCookie!, "burrow_admin_csrf");
    const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const signedIn = await admin.request(
      `${CONSOLE}/sign-in`,
      {
        method: "POST",
        headers: {
          origin: CONSOLE,
          cookie: csrfCookie!.split(";")[0]!,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams({ _csrf: token, email: operator.email, password: operator.password }).toString(),
      },
      { remoteAddress: "192.0.2.20" },
    );
    const session = signedIn.headers.getSetCookie().find((line) => line.startsWith("__Host-burrow_admin="));
    expect(session, `${signedIn.status} ${signedIn.headers.get("location")}`).toBeDefined();
    expectHostOnlyStrict(session!, "burrow_admin");
  });

  test("the sign-in form masks the password and lets password managers fill it", async () => {
    const html = await (await admin.request(`${CONSOLE}/sign-in`, {}, { remoteAddress: "192.0.2.20" })).text();
    const password = /<input[^>]*name="password"[^>]*>/.exec(html)?.[0];
    expect(password).toContain('type="password"');
    expect(password).toContain('autocomplete="current-password"');
    expect(/<input[^>]*name="email"[^>]*>/.exec(html)?.[0]).toContain('autocomplete="username"');
    expect(html).not.toMatch(/onpaste|oncopy|ondrop|autocomplete="off"/i);
  });

  test("signing in again in the same browser ends the console session it held (V7.2.4)", async () => {
    const operator = await signUpUser(api);
    await grantPlatformPermissions(api, operator.id, ["users:read"]);
    const signInWith = async (cookies: string[]) => {
      const page = await admin.request(`${CONSOLE}/sign-in`, { headers: { cookie: cookies.join("; ") } });
      const csrf = page.headers.getSetCookie().find((line) => line.startsWith("__Host-burrow_admin_csrf="));
      const jar = csrf === undefined ? cookies : [...cookies, csrf.split(";")[0]!];
      const token = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
      const answer = await admin.request(`${CONSOLE}/sign-in`, {
        method: "POST",
        headers: { origin: CONSOLE, cookie: jar.join("; "), "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: token, email: operator.email, password: operator.password }).toString(),
      });
      const session = answer.headers.getSetCookie().find((line) => line.startsWith("__Host-burrow_admin="))!;
      return { jar: jar.filter((pair) => !pair.startsWith("__Host-burrow_admin=")), session: session.split(";")[0]! };
    };
    const first = await signInWith([]);
    const firstToken = first.session.slice("__Host-burrow_admin=".length);
    expect((await api.platform.auth.sessions.validate(firstToken, "admin")).session).not.toBeNull();
    const second = await signInWith([...first.jar, first.session]);
    const secondToken = second.session.slice("__Host-burrow_admin=".length);
    expect(secondToken.split(".")[0]).not.toBe(firstToken.split(".")[0]);
    expect((await api.platform.auth.sessions.validate(firstToken, "admin")).session).toBeNull();
    expect((await api.platform.auth.sessions.validate(secondToken, "admin")).session).not.toBeNull();
  });
});
