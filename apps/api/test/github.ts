/** A GitHub account as the fake's API tells it. */
export interface FakeGitHubAccount {
  login: string;
  name: string | null;
  emails: { email: string; primary: boolean; verified: boolean }[];
}

/**
 * A small stand-in for GitHub's OAuth 2.0 and REST API on 127.0.0.1, strict where GitHub is: the
 * authorize step checks the client, the redirect URI and an S256 challenge; the token endpoint checks
 * the code (used once, whatever the outcome), the client secret, the redirect URI and the PKCE
 * verifier, and answers its refusals as GitHub does (200 with an `error`); `/user` and `/user/emails`
 * want the access token as a Bearer header.
 */
export interface FakeGitHub {
  /** The base URL; its endpoints are under it at GitHub's paths. */
  url: string;
  endpoints: { authorization: string; token: string; user: string; emails: string };
  clientId: string;
  clientSecret: string;
  /** By numeric id. */
  accounts: Map<number, FakeGitHubAccount>;
  /** The account the next authorization signs in as. */
  nextLogin: number;
  /** The query of each authorization request. */
  authorizations: URLSearchParams[];
  /** Each token request's outcome: `ok` or GitHub's error code. */
  tokenOutcomes: string[];
  /** Access tokens issued so far. */
  issuedTokens: string[];
  /** When set, `/user` answers this status (a revoked token, an outage). */
  userStatus: number | undefined;
  /** When set, `/user` answers this body instead of the account's. */
  userBody: unknown;
  close(): Promise<void>;
}

async function s256(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return Buffer.from(digest).toString("base64url");
}

export function startFakeGitHub(options: { redirectUris: string[] }): FakeGitHub {
  const clientId = `Iv1.${crypto.randomUUID().slice(0, 8)}`;
  const clientSecret = crypto.randomUUID();
  const codes = new Map<string, { account: number; redirectUri: string; challenge: string; used: boolean }>();
  const tokens = new Map<string, number>();
  const json = (body: unknown, status = 200) => Response.json(body, { status });

  const fake: Omit<FakeGitHub, "url" | "endpoints" | "close"> = {
    clientId,
    clientSecret,
    accounts: new Map(),
    nextLogin: 0,
    authorizations: [],
    tokenOutcomes: [],
    issuedTokens: [],
    userStatus: undefined,
    userBody: undefined,
  };

  function accountOf(request: Request): number | undefined {
    const header = request.headers.get("authorization") ?? "";
    return header.startsWith("Bearer ") ? tokens.get(header.slice(7)) : undefined;
  }

  async function token(request: Request): Promise<Response> {
    const form = new URLSearchParams(await request.text());
    const refuse = (error: string) => {
      fake.tokenOutcomes.push(error);
      return json({ error, error_description: error });
    };
    if (!(request.headers.get("accept") ?? "").includes("application/json")) return refuse("not_json");
    if (form.get("client_id") !== clientId || form.get("client_secret") !== clientSecret)
      return refuse("incorrect_client_credentials");
    const code = codes.get(form.get("code") ?? "");
    if (code === undefined || code.used) return refuse("bad_verification_code");
    code.used = true;
    if (form.get("redirect_uri") !== code.redirectUri) return refuse("redirect_uri_mismatch");
    if ((await s256(form.get("code_verifier") ?? "")) !== code.challenge) return refuse("bad_verification_code");
    const accessToken = `gho_${crypto.randomUUID().replaceAll("-", "")}`;
    tokens.set(accessToken, code.account);
    fake.issuedTokens.push(accessToken);
    fake.tokenOutcomes.push("ok");
    return json({ access_token: accessToken, token_type: "bearer", scope: "read:user,user:email" });
  }

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method === "GET" && url.pathname === "/login/oauth/authorize") {
        const query = url.searchParams;
        fake.authorizations.push(query);
        const redirectUri = query.get("redirect_uri") ?? "";
        const challenge = query.get("code_challenge") ?? "";
        if (query.get("client_id") !== clientId) return new Response("unknown client", { status: 404 });
        if (!options.redirectUris.includes(redirectUri)) return new Response("redirect_uri mismatch", { status: 400 });
        if (query.get("code_challenge_method") !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(challenge))
          return new Response("S256 PKCE required", { status: 400 });
        const code = crypto.randomUUID().replaceAll("-", "").slice(0, 20);
        codes.set(code, { account: fake.nextLogin, redirectUri, challenge, used: false });
        const back = new URL(redirectUri);
        back.searchParams.set("code", code);
        back.searchParams.set("state", query.get("state") ?? "");
        return Response.redirect(back.toString(), 302);
      }
      if (request.method === "POST" && url.pathname === "/login/oauth/access_token") return token(request);
      if (request.method === "GET" && (url.pathname === "/user" || url.pathname === "/user/emails")) {
        const id = accountOf(request);
        const account = id === undefined ? undefined : fake.accounts.get(id);
        if (id === undefined || account === undefined) return json({ message: "Bad credentials" }, 401);
        if (url.pathname === "/user/emails") return json(account.emails);
        if (fake.userStatus !== undefined) return json({ message: "no" }, fake.userStatus);
        if (fake.userBody !== undefined) return json(fake.userBody);
        return json({
          id,
          login: account.login,
          name: account.name,
          avatar_url: `https://avatars.example/u/${id}`,
        });
      }
      return new Response("not found", { status: 404 });
    },
  });

  const base = `http://127.0.0.1:${server.port}`;
  return Object.assign(fake, {
    url: base,
    endpoints: {
      authorization: `${base}/login/oauth/authorize`,
      token: `${base}/login/oauth/access_token`,
      user: `${base}/user`,
      emails: `${base}/user/emails`,
    },
    async close() {
      await server.stop(true);
    },
  });
}
