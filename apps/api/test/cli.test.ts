import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { and, eq, isNull } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import { authSessions } from "@burrow/platform-auth/schema";
import { runCli, type CliTarget } from "../src/cli/burrow.ts";
import { createTestApi, signIn, signUpUser, type TestApi } from "./helpers.ts";

describe("the burrow command line", () => {
  let api: TestApi;
  let target: CliTarget;
  beforeAll(async () => {
    api = await createTestApi();
    target = {
      openDatabase: async () => api.database,
      openPlatform: async () => api.platform,
      close: async () => {},
    };
  });
  afterAll(() => api.close());

  async function burrow(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const code = await runCli(argv, { out: (text) => void (out += text), err: (text) => void (err += text) }, target);
    return { code, out, err };
  }

  test("create-admin makes a platform administrator and prints a set-up link that works once", async () => {
    const created = await burrow("create-admin", "first-admin@example.com");
    expect(created.code).toBe(0);
    const link = created.out.match(/https?:\/\/\S+\/auth\/account-setup\?token=\S+/)?.[0];
    expect(link).toBeDefined();
    const userId = created.out.match(/usr_[0-9a-z]{26}/)![0];
    expect(await api.platform.rbac.can(userId, "*")).toBe(true);
    // The link sets the first password (the hosted page posts what this does).
    const token = new URL(link!).searchParams.get("token")!;
    const setUp = await api.request("/v1/auth/account-setup", {
      method: "POST",
      headers: { "x-burrow-client": "bearer" },
      json: { token, password: "a long admin passphrase" },
    });
    expect(setUp.status).toBe(204);
    const again = await api.request("/v1/auth/account-setup", {
      method: "POST",
      headers: { "x-burrow-client": "bearer" },
      json: { token, password: "another long passphrase" },
    });
    expect(again.status).toBe(400);
    // Audited as the system's act.
    const [entry] = await api.platform.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, "role.platform_granted"), eq(auditLogs.targetId, userId)));
    expect(entry).toMatchObject({ actorType: "system", metadata: { role: "platform_admin" } });
    // Running it again changes nothing and prints no link.
    const twice = await burrow("create-admin", "first-admin@example.com", "--json");
    expect(twice.code).toBe(0);
    expect(JSON.parse(twice.out)).toEqual({ userId, created: false, granted: false, setupLink: null });
  });

  test("revoke-sessions and unlock act on the account the address names", async () => {
    const ada = await signUpUser(api);
    for (let attempt = 0; attempt < 5; attempt++) await signIn(api, ada.email, "not the right password");
    expect((await signIn(api, ada.email, ada.password)).status).toBe(429);
    const unlocked = await burrow("unlock", ada.email);
    expect(unlocked).toMatchObject({ code: 0, out: `unlocked ${ada.id}\n` });
    expect((await signIn(api, ada.email, ada.password)).status).toBe(200);

    const revoked = await burrow("--json", "revoke-sessions", ada.email);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.out)).toMatchObject({ userId: ada.id, revoked: 2 });
    const live = await api.platform.db
      .select()
      .from(authSessions)
      .where(and(eq(authSessions.userId, ada.id), isNull(authSessions.revokedAt)));
    expect(live).toEqual([]);
    expect((await api.request("/v1/me", { headers: ada.bearer })).status).toBe(401);
  });

  test("status, migrate:status, rotate-keys and cleanup report what they did", async () => {
    const rotated = await burrow("keys:rotate", "--json");
    expect(rotated.code).toBe(0);
    const { kid } = JSON.parse(rotated.out);
    const status = await burrow("status", "--json");
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.out);
    expect(parsed.migrations.current).toBe(true);
    expect(parsed.signingKeys.kids).toContain(kid);
    expect((await burrow("status")).out).toContain(`signing keys: ${parsed.signingKeys.published} published`);
    expect((await burrow("migrate:status")).out).toMatch(/^migrations: \d+ applied, 0 pending \(current\)\n$/);
    const cleaned = await burrow("cleanup", "--json");
    expect(Object.keys(JSON.parse(cleaned.out).deleted)).toContain("auth.sessions");
  });

  test("usage errors and unknown addresses exit 2 with one line, and change nothing", async () => {
    const before = (await api.platform.db.select().from(auditLogs)).length;
    for (const argv of [
      ["unlock"],
      ["unlock", "nobody@example.com"],
      ["revoke-sessions", "nobody@example.com"],
      ["create-admin", "not an address"],
      ["no-such-command"],
      ["status", "--colour"],
    ]) {
      const result = await burrow(...argv);
      expect(result.code).toBe(2);
      expect(result.err.trim().split("\n")).toHaveLength(1);
      expect(result.out).toBe("");
    }
    expect((await api.platform.db.select().from(auditLogs)).length).toBe(before);
    expect((await burrow("--help")).code).toBe(0);
    expect((await burrow("create-admin", "--help")).out).toContain("<email>");
  });

  test("as a process: --help exits 0 and a usage error exits 2, without a database", async () => {
    const entry = join(import.meta.dir, "../src/cli/burrow.ts");
    const help = Bun.spawnSync([process.execPath, entry, "--help"]);
    expect(help.exitCode).toBe(0);
    expect(help.stdout.toString()).toContain("create-admin <email>");
    const usage = Bun.spawnSync([process.execPath, entry, "unlock"]);
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr.toString()).toContain("missing required argument");
  });
});
