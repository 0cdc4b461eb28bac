// What the console's request-level tests share: a browser that keeps cookies and posts forms as
// the console's pages do, and signing an operator in through the pages.
import { expect } from "bun:test";
import { referenceTotp } from "@burrow/platform-auth/testing";
import { createAdminApp } from "../src/app.tsx";
import {
  createTestApi,
  enrolTotp,
  grantPlatformPermissions,
  signUpUser,
  type TestApi,
  type TestUser,
} from "../../api/test/helpers.ts";

export const ADMIN = "http://localhost:3001";

/** A browser of the console: keeps its cookies, sends the console's Origin with forms. */
export class Browser {
  cookies = new Map<string, string>();
  constructor(
    private readonly app: ReturnType<typeof createAdminApp>,
    private readonly origin = ADMIN,
  ) {}
  async get(path: string): Promise<Response> {
    return this.send(path, { method: "GET" });
  }
  /** Posts a form; the CSRF token is read from the last page unless given. */
  async post(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(path, {
      method: "POST",
      headers: { origin: this.origin, "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams({ _csrf: this.csrf, ...fields }).toString(),
    });
  }
  csrf = "";
  lastHtml = "";
  private async send(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set("cookie", [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; "));
    const response = await this.app.request(`${ADMIN}${path}`, { ...init, headers }, { remoteAddress: "192.0.2.20" });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, value] = pair!.split("=") as [string, string];
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    if (response.headers.get("content-type")?.includes("text/html")) {
      this.lastHtml = await response.clone().text();
      const token = /name="_csrf" value="([^"]+)"/.exec(this.lastHtml)?.[1];
      if (token !== undefined) this.csrf = token;
    }
    return response;
  }
  field(name: string): string {
    return new RegExp(`name="${name}" value="([^"]+)"`).exec(this.lastHtml)?.[1] ?? "";
  }
}

/** Signs an operator in through the pages: password, then the code from their app. */
export async function signInWithCode(
  api: TestApi,
  admin: ReturnType<typeof createAdminApp>,
  user: TestUser,
  secret: string,
): Promise<Browser> {
  const browser = new Browser(admin);
  await browser.get("/sign-in");
  const first = await browser.post("/sign-in", { email: user.email, password: user.password });
  expect(first.status).toBe(200);
  expect(browser.lastHtml).toContain("Two-step verification");
  api.clock.advance(30_000);
  const code = referenceTotp(secret, Math.floor(api.clock.now().getTime() / 1000));
  const second = await browser.post("/sign-in/mfa", { mfaToken: browser.field("mfaToken"), code });
  expect(second.status).toBe(303);
  expect(second.headers.get("location")).toBe("/");
  return browser;
}

/** The API and the console over one fresh test database. */
export async function createTestConsole(
  env: Record<string, string> = {},
): Promise<{ api: TestApi; admin: ReturnType<typeof createAdminApp> }> {
  const api = await createTestApi({ ADMIN_URL: ADMIN, ...env });
  return { api, admin: createAdminApp(api.platform) };
}

/** A new user holding `permissions` (platform), with TOTP enrolled: they and their factor's secret. */
export async function operatorWith(api: TestApi, permissions: string[]): Promise<{ user: TestUser; secret: string }> {
  const user = await signUpUser(api);
  await grantPlatformPermissions(api, user.id, permissions);
  const { secret } = await enrolTotp(api, user);
  return { user, secret };
}
