import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import Provider from "oidc-provider";
import type { TestApi } from "./helpers.ts";

/** Who a test provider signs in as: its subject and the claims it states. */
export interface IdentityClaims {
  email?: string;
  email_verified?: boolean;
  name?: string;
}

/**
 * A real OpenID Provider (`oidc-provider`) on 127.0.0.1, in this process. It is reached through a
 * small relay that owns the issuer's port: it passes everything through, and when a test sets
 * `tamper` it re-signs the token endpoint's ID token (with the provider's own key) after changing
 * it — a provider that is broken or hostile, to prove the relying party's checks.
 */
export interface TestIdentityProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The account the next login at this provider is (the interaction signs in as it, no form). */
  nextLogin: string;
  accounts: Map<string, IdentityClaims>;
  tamper: ((claims: JWTPayload) => JWTPayload) | undefined;
  /** Token endpoint answers so far (to see a code replay). */
  tokenResponses: number[];
  provider: Provider;
  close(): Promise<void>;
}

export async function startIdentityProvider(options: {
  /** Redirect URIs the client may use (Burrow's callbacks). */
  redirectUris: string[];
  idTokenTtlSeconds?: number;
}): Promise<TestIdentityProvider> {
  const accounts = new Map<string, IdentityClaims>();
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: "test-key", alg: "RS256", use: "sig" };

  // The relay takes a port first: the issuer names it.
  const state: { upstream: number; tamper: TestIdentityProvider["tamper"]; tokenResponses: number[] } = {
    upstream: 0,
    tamper: undefined,
    tokenResponses: [],
  };
  const relay = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      const upstream = await fetch(`http://127.0.0.1:${state.upstream}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body: request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer(),
        redirect: "manual",
      });
      if (url.pathname === "/token") state.tokenResponses.push(upstream.status);
      if (url.pathname !== "/token" || state.tamper === undefined || upstream.status !== 200) return upstream;
      const body = (await upstream.json()) as { id_token: string };
      const claims = state.tamper(decodeJwt(body.id_token));
      body.id_token = await new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid: "test-key" })
        .sign(privateKey as CryptoKey);
      return Response.json(body, { headers: { "cache-control": "no-store" } });
    },
  });
  const issuer = `http://127.0.0.1:${relay.port}`;
  const clientId = "burrow";
  const clientSecret = `secret-${crypto.randomUUID()}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [crypto.randomUUID()] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    features: { devInteractions: { enabled: false } },
    ttl: { IdToken: options.idTokenTtlSeconds ?? 3600 },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // First-party client: consent is given for what is asked.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client!.clientId,
        accountId: ctx.oidc.session!.accountId!,
      });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
    async findAccount(_ctx, id) {
      return { accountId: id, claims: async () => ({ sub: id, ...(accounts.get(id) ?? {}) }) };
    },
  });
  const fixture: TestIdentityProvider = {
    issuer,
    clientId,
    clientSecret,
    nextLogin: "",
    accounts,
    get tamper() {
      return state.tamper;
    },
    set tamper(value) {
      state.tamper = value;
    },
    tokenResponses: state.tokenResponses,
    provider,
    async close() {
      await relay.stop(true);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const callback = provider.callback();
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith("/interaction/")) {
      // The login page, answered at once: this provider's user is whoever the test says.
      provider
        .interactionFinished(req, res, { login: { accountId: fixture.nextLogin } }, { mergeWithLastSubmission: false })
        .catch((error: unknown) => {
          res.statusCode = 500;
          res.end(String(error));
        });
      return;
    }
    callback(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.upstream = (server.address() as AddressInfo).port;
  return fixture;
}

/**
 * A browser: a cookie jar per origin, following redirects by hand (as a browser does, sending each
 * origin its cookies). Burrow is called in-process at its PUBLIC_URL; every other origin over the
 * network (the providers on 127.0.0.1).
 */
export class Browser {
  private jar = new Map<string, Map<string, { value: string; path: string }>>();
  /** Every URL the browser went to, in order. */
  visited: string[] = [];

  constructor(
    private api: TestApi,
    private publicUrl: string,
  ) {}

  cookie(origin: string, name: string): string | undefined {
    return this.jar.get(origin)?.get(name)?.value;
  }

  setCookie(origin: string, name: string, value: string, path = "/"): void {
    const cookies = this.jar.get(origin) ?? new Map();
    cookies.set(name, { value, path });
    this.jar.set(origin, cookies);
  }

  private cookieHeader(url: URL): string {
    const cookies = this.jar.get(url.origin) ?? new Map();
    return [...cookies]
      .filter(([, cookie]) => url.pathname.startsWith(cookie.path))
      .map(([name, cookie]) => `${name}=${cookie.value}`)
      .join("; ");
  }

  private store(url: URL, response: Response): void {
    const cookies = this.jar.get(url.origin) ?? new Map();
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
      const index = pair.indexOf("=");
      const name = pair.slice(0, index);
      const value = pair.slice(index + 1);
      const path = attributes.find((part) => part.toLowerCase().startsWith("path="))?.slice(5) ?? "/";
      const expired = attributes.some(
        (part) =>
          part.toLowerCase() === "max-age=0" ||
          (part.toLowerCase().startsWith("expires=") && new Date(part.slice(8)).getTime() < Date.now()),
      );
      if (expired || value === "") cookies.delete(name);
      else cookies.set(name, { value, path });
    }
    this.jar.set(url.origin, cookies);
  }

  /** One request with this browser's cookies; no redirect followed. */
  async fetch(target: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const url = new URL(target);
    this.visited.push(url.toString());
    const headers = new Headers();
    const cookie = this.cookieHeader(url);
    if (cookie !== "") headers.set("cookie", cookie);
    let body: string | undefined;
    if (init.form !== undefined) {
      headers.set("content-type", "application/x-www-form-urlencoded");
      headers.set("origin", url.origin);
      body = new URLSearchParams(init.form).toString();
    }
    const method = init.method ?? (body === undefined ? "GET" : "POST");
    const response =
      url.origin === this.publicUrl
        ? await this.api.request(`${url.pathname}${url.search}`, { method, headers, body })
        : await fetch(url, { method, headers, body, redirect: "manual" });
    this.store(url, response);
    return response;
  }

  /**
   * Navigates, following redirects until a page answers or the next hop leaves the origins this test
   * allows (`stopAt`): that response is returned unfollowed, so nothing is ever loaded from there.
   */
  async navigate(
    target: string,
    options: { form?: Record<string, string>; stopAt?: (url: URL) => boolean } = {},
  ): Promise<{ response: Response; url: string }> {
    let url = target;
    let response = await this.fetch(url, options.form === undefined ? {} : { form: options.form });
    for (let hops = 0; hops < 20 && response.status >= 300 && response.status < 400; hops++) {
      const next = new URL(response.headers.get("location")!, url);
      if (options.stopAt?.(next)) return { response, url };
      url = next.toString();
      response = await this.fetch(url);
    }
    return { response, url };
  }
}

/** The app a social login hands its one-time exchange code to (an allowed redirect in the tests). */
export const APP = "https://app.example";
