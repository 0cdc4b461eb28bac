import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, defaultPoolSize, describeConfig, loadConfig, OAUTH_GITHUB_ENDPOINTS } from "./config.ts";

const key = Buffer.alloc(32, 7).toString("base64");
const withTempDir = (run: (dir: string) => void) => {
  const dir = mkdtempSync(join(tmpdir(), "burrow-config-"));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

describe("config", () => {
  test("with no environment it runs embedded with safe defaults and persisted secrets", () => {
    withTempDir((dir) => {
      const first = loadConfig({ BURROW_DATA_DIR: dir });
      expect(first.embedded).toBe(true);
      expect(first.port).toBe(3000);
      expect(first.publicUrl).toBe("http://localhost:3000");
      expect(first.secret.length).toBeGreaterThanOrEqual(32);
      expect(first.lockout).toEqual({ count: 5, windowMs: 900_000, maxLockMs: 86_400_000 });
      expect(first.ipRateLimit).toEqual({ count: 20, windowMs: 1000 });
      expect(statSync(join(dir, "secrets.json")).mode & 0o777).toBe(0o600);
      const second = loadConfig({ BURROW_DATA_DIR: dir });
      expect(second.secret).toBe(first.secret);
      expect(second.encryptionKeys[0]!.key).toEqual(first.encryptionKeys[0]!.key);
    });
  });

  test("production refuses to start without secrets, naming the variable", () => {
    withTempDir((dir) => {
      const base = { NODE_ENV: "production", BURROW_DATA_DIR: dir, PUBLIC_URL: "https://id.example.com" };
      expect(() => loadConfig(base)).toThrow(/BURROW_SECRET/);
      expect(() => loadConfig({ ...base, BURROW_SECRET: "short" })).toThrow(/BURROW_SECRET/);
      expect(() => loadConfig({ ...base, BURROW_SECRET: "x".repeat(40) })).toThrow(/BURROW_ENCRYPTION_KEYS/);
      expect(() => loadConfig({ ...base, BURROW_SECRET: "x".repeat(40), BURROW_ENCRYPTION_KEYS: "v1:short" })).toThrow(
        ConfigError,
      );
      const config = loadConfig({ ...base, BURROW_SECRET: "x".repeat(40), BURROW_ENCRYPTION_KEYS: `v1:${key}` });
      expect(config.env).toBe("production");
      expect(config.publicUrl).toBe("https://id.example.com");
      // A container must be reachable from outside itself.
      expect(config.host).toBe("0.0.0.0");
      expect(
        loadConfig({ ...base, BURROW_SECRET: "x".repeat(40), BURROW_ENCRYPTION_KEYS: `v1:${key}`, HOST: "10.0.0.5" })
          .host,
      ).toBe("10.0.0.5");
      // Webhooks to loopback are a development convenience only.
      expect(config.webhooks).toEqual({ allowLoopback: false, timeoutMs: 10_000, disableAfterFailures: 20 });
      expect(() =>
        loadConfig({
          ...base,
          BURROW_SECRET: "x".repeat(40),
          BURROW_ENCRYPTION_KEYS: `v1:${key}`,
          BURROW_WEBHOOK_ALLOW_LOOPBACK: "1",
        }),
      ).toThrow(/BURROW_WEBHOOK_ALLOW_LOOPBACK/);
      // An attempt must end well within its job's lease, or it could be taken over and sent twice.
      const timeout = (value: string) =>
        loadConfig({
          ...base,
          BURROW_SECRET: "x".repeat(40),
          BURROW_ENCRYPTION_KEYS: `v1:${key}`,
          BURROW_WEBHOOK_TIMEOUT: value,
        }).webhooks.timeoutMs;
      expect(timeout("30s")).toBe(30_000);
      expect(() => timeout("31s")).toThrow(/BURROW_WEBHOOK_TIMEOUT must be at most 30s/);
    });
  });

  test("HOST is the bind address: 127.0.0.1 outside production unless set; a malformed one is named", () => {
    withTempDir((dir) => {
      expect(loadConfig({ BURROW_DATA_DIR: dir }).host).toBe("127.0.0.1");
      expect(loadConfig({ BURROW_DATA_DIR: dir, HOST: "0.0.0.0" }).host).toBe("0.0.0.0");
      expect(loadConfig({ BURROW_DATA_DIR: dir, HOST: "::" }).host).toBe("::");
      expect(() => loadConfig({ BURROW_DATA_DIR: dir, HOST: "http://0.0.0.0/" })).toThrow(/HOST/);
      expect(() => loadConfig({ BURROW_DATA_DIR: dir, HOST: "" })).toThrow(/HOST/);
    });
  });

  test("limits and lifetimes are read from the environment and malformed values are named", () => {
    withTempDir((dir) => {
      const config = loadConfig({
        BURROW_DATA_DIR: dir,
        BURROW_LOCKOUT: "3/10m",
        BURROW_IP_RATE_LIMIT: "off",
        BURROW_SESSION_IDLE: "1h",
        BURROW_ALLOWED_ORIGINS: "https://app.example.com/, http://localhost:5173",
      });
      expect(config.lockout.count).toBe(3);
      expect(config.lockout.windowMs).toBe(600_000);
      expect(config.ipRateLimit).toBeUndefined();
      expect(config.session.idleTimeoutMs).toBe(3_600_000);
      expect(config.allowedOrigins).toEqual([
        "http://localhost:3000",
        "https://app.example.com",
        "http://localhost:5173",
      ]);
      expect(() => loadConfig({ BURROW_DATA_DIR: dir, BURROW_LOCKOUT: "lots" })).toThrow(/BURROW_LOCKOUT/);
      expect(() => loadConfig({ BURROW_DATA_DIR: dir, PORT: "http" })).toThrow(/PORT/);
      expect(() => loadConfig({ BURROW_DATA_DIR: dir, DATABASE_URL: "mysql://x" })).toThrow(/DATABASE_URL/);
    });
  });

  test("a pool not told its size opens twice the machine's cores and one, at most 10", () => {
    expect([1, 2, 3, 4, 5, 64].map((cores) => defaultPoolSize(cores))).toEqual([3, 5, 7, 9, 10, 10]);
  });

  test("the pool's size is the machine's unless DATABASE_POOL_SIZE says; a count from 1 to 1,000", () => {
    withTempDir((dir) => {
      expect(loadConfig({ BURROW_DATA_DIR: dir }).databasePoolSize).toBe(defaultPoolSize());
      expect(loadConfig({ BURROW_DATA_DIR: dir, DATABASE_POOL_SIZE: "20" }).databasePoolSize).toBe(20);
      for (const refused of ["0", "-3", "2.5", "many", "1001"])
        expect(() => loadConfig({ BURROW_DATA_DIR: dir, DATABASE_POOL_SIZE: refused })).toThrow(/DATABASE_POOL_SIZE/);
    });
  });

  test("the session cache is on by default with 100,000 entries; off or another bound when set", () => {
    withTempDir((dir) => {
      expect(loadConfig({ BURROW_DATA_DIR: dir }).sessionCache).toEqual({ maxEntries: 100_000 });
      expect(loadConfig({ BURROW_DATA_DIR: dir, BURROW_SESSION_CACHE: "off" }).sessionCache).toBeUndefined();
      expect(loadConfig({ BURROW_DATA_DIR: dir, BURROW_SESSION_CACHE_MAX: "500" }).sessionCache).toEqual({
        maxEntries: 500,
      });
      expect(() => loadConfig({ BURROW_DATA_DIR: dir, BURROW_SESSION_CACHE: "yes" })).toThrow(/BURROW_SESSION_CACHE/);
      expect(() => loadConfig({ BURROW_DATA_DIR: dir, BURROW_SESSION_CACHE_MAX: "0" })).toThrow(
        /BURROW_SESSION_CACHE_MAX/,
      );
    });
  });
});

describe("describeConfig", () => {
  test("lists every setting, and no secret or credential appears in it", () => {
    const secret = "s".repeat(48);
    const key = Buffer.alloc(32, 7).toString("base64");
    const config = loadConfig({
      NODE_ENV: "test",
      BURROW_SECRET: secret,
      BURROW_ENCRYPTION_KEYS: `v2:${key},v1:${Buffer.alloc(32, 8).toString("base64")}`,
      DATABASE_URL: "postgres://burrow:db-password-123@db.internal:5432/burrow",
      SMTP_URL: "smtp://mailer:smtp-password-456@smtp.internal:587",
      BURROW_METRICS_TOKEN: "metrics-token-789".padEnd(32, "x"),
    });
    const settings = describeConfig(config);
    const text = JSON.stringify(settings);
    for (const leaked of [secret, key, "db-password-123", "smtp-password-456", "metrics-token-789"])
      expect(text).not.toContain(leaked);
    const value = (path: string) => settings.find((setting) => setting.path === path)?.value;
    expect(value("secret")).toBe("set (redacted)");
    expect(value("encryptionKeys")).toBe("set (v2, v1; values redacted)");
    expect(value("databaseUrl")).toBe("postgres://[redacted]@db.internal:5432/burrow");
    expect(value("metricsToken")).toBe("set (redacted)");
    expect(value("session.idleTimeoutMs")).toMatch(/^\d+$/);
    expect(value("tokens.accessTtlMs")).toMatch(/^\d+$/);
    // A switch named like a secret is no secret: an operator sees whether the password grant is on.
    expect(value("tokens.passwordGrant")).toBe("true");
    expect(value("databasePoolSize")).toBe(String(config.databasePoolSize));
  });
});

describe("BURROW_OAUTH_PROVIDERS", () => {
  const base = { NODE_ENV: "test", BURROW_SECRET: "s".repeat(48), BURROW_ENCRYPTION_KEYS: `v1:${key}` };
  const providers = (value: unknown[], env: Record<string, string> = {}) =>
    loadConfig({ ...base, ...env, BURROW_OAUTH_PROVIDERS: JSON.stringify(value) }).oauth.providers;

  test("providers are read by id; presets fill in their issuer, and only Google's and GitHub's addresses are trusted by default", () => {
    const read = providers([
      { id: "google", type: "google", clientId: "g-client", clientSecret: "g-secret" },
      {
        id: "acme",
        type: "oidc",
        issuer: "https://sso.acme.example",
        clientId: "a",
        clientSecret: "b",
        scopes: ["groups"],
      },
      { id: "gh", type: "github", clientId: "c", clientSecret: "d", trustEmail: false },
      { id: "gh2", type: "github", clientId: "e", clientSecret: "f" },
    ]);
    expect(read.google).toMatchObject({ issuer: "https://accounts.google.com", trustEmail: true, scopes: [] });
    expect(read.acme).toMatchObject({ issuer: "https://sso.acme.example", trustEmail: false, scopes: ["groups"] });
    expect(read.gh).toMatchObject({ issuer: undefined, trustEmail: false });
    expect(read.gh2).toMatchObject({ issuer: undefined, trustEmail: true, endpoints: OAUTH_GITHUB_ENDPOINTS });
    expect(OAUTH_GITHUB_ENDPOINTS).toEqual({
      authorization: "https://github.com/login/oauth/authorize",
      token: "https://github.com/login/oauth/access_token",
      user: "https://api.github.com/user",
      emails: "https://api.github.com/user/emails",
    });
    expect(read.google!.endpoints).toBeUndefined();
    expect(loadConfig(base).oauth.providers).toEqual({});
  });

  test("malformed entries are refused by name", () => {
    expect(() => loadConfig({ ...base, BURROW_OAUTH_PROVIDERS: "{not json" })).toThrow(/BURROW_OAUTH_PROVIDERS/);
    expect(() => providers([{ id: "x", type: "oidc", clientId: "a", clientSecret: "b" }])).toThrow(
      /issuer is required/,
    );
    expect(() => providers([{ id: "x", type: "microsoft", clientId: "a", clientSecret: "b" }])).toThrow(
      /issuer is required/,
    );
    expect(() => providers([{ id: "Bad Id", type: "google", clientId: "a", clientSecret: "b" }])).toThrow(/id must/);
    expect(() => providers([{ id: "x", type: "saml", clientId: "a", clientSecret: "b" }])).toThrow(/type/);
    const twice = { id: "x", type: "google", clientId: "a", clientSecret: "b" };
    expect(() => providers([twice, twice])).toThrow(/its own id/);
  });

  test("an issuer is https, or http on a loopback address outside production", () => {
    const entry = (issuer: string) => [{ id: "x", type: "oidc", issuer, clientId: "a", clientSecret: "b" }];
    expect(providers(entry("http://127.0.0.1:4000")).x?.issuer).toBe("http://127.0.0.1:4000");
    expect(() => providers(entry("http://idp.example"))).toThrow(/must be an https/);
    expect(() =>
      providers(entry("http://127.0.0.1:4000"), { NODE_ENV: "production", PUBLIC_URL: "https://id.example" }),
    ).toThrow(/must be an https/);
  });

  test("GitHub's endpoints can be moved (GitHub Enterprise, a test's fake) by the issuer's rule, and only GitHub's", () => {
    const github = (endpoints: Record<string, string>, env: Record<string, string> = {}) =>
      providers([{ id: "gh", type: "github", clientId: "a", clientSecret: "b", endpoints }], env).gh;
    expect(github({ user: "https://ghe.example/api/v3/user" })?.endpoints).toEqual({
      ...OAUTH_GITHUB_ENDPOINTS,
      user: "https://ghe.example/api/v3/user",
    });
    expect(github({ token: "http://127.0.0.1:4000/login/oauth/access_token" })?.endpoints?.token).toBe(
      "http://127.0.0.1:4000/login/oauth/access_token",
    );
    expect(() => github({ token: "http://ghe.example/login/oauth/access_token" })).toThrow(
      /endpoints\.token of gh must be an https/,
    );
    expect(() =>
      github({ user: "http://127.0.0.1:4000/user" }, { NODE_ENV: "production", PUBLIC_URL: "https://id.example" }),
    ).toThrow(/endpoints\.user of gh must be an https/);
    expect(() => github({ userinfo: "https://ghe.example/user" })).toThrow(/BURROW_OAUTH_PROVIDERS/);
    expect(() =>
      providers([
        {
          id: "x",
          type: "oidc",
          issuer: "https://sso.example",
          clientId: "a",
          clientSecret: "b",
          endpoints: { user: "https://sso.example/user" },
        },
      ]),
    ).toThrow(/endpoints are for github providers only/);
  });

  test("describeConfig shows providers without their client secrets", () => {
    const config = loadConfig({
      ...base,
      BURROW_OAUTH_PROVIDERS: JSON.stringify([
        { id: "google", type: "google", clientId: "g-client", clientSecret: "client-secret-4242" },
      ]),
    });
    const settings = describeConfig(config);
    expect(JSON.stringify(settings)).not.toContain("client-secret-4242");
    expect(settings.find((setting) => setting.path === "oauth.providers.google.clientSecret")?.value).toBe(
      "set (redacted)",
    );
    expect(settings.find((setting) => setting.path === "oauth.providers.google.clientId")?.value).toBe("g-client");
  });
});
