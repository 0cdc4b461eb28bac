import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { and, eq, isNull } from "drizzle-orm";
import { auditLogs } from "@burrow/platform-core/schema";
import { authSessions } from "@burrow/platform-auth/schema";
import { createTestDatabase } from "@burrow/platform-core/testing";
import { runCli, type CliTarget } from "../src/cli/burrow.ts";
import { createTestApi, signIn, signUpUser, type TestApi } from "./helpers.ts";

async function runBurrow(target: CliTarget, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runCli(argv, { out: (text) => void (out += text), err: (text) => void (err += text) }, target);
  return { code, out, err };
}

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

  const burrow = (...argv: string[]) => runBurrow(target, argv);

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

  test("revoke-sessions --all ends every session of every account at once, audited; API keys stay", async () => {
    const one = await signUpUser(api);
    const two = await signUpUser(api);
    const key = await api.request("/v1/api-keys", {
      method: "POST",
      headers: two.bearer,
      json: { name: "stays", scopes: ["profile:read"] },
    });
    expect(key.status).toBe(201);
    const { secret } = (await key.json()) as { secret: string };
    const revoked = await burrow("--json", "revoke-sessions", "--all");
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.out).revoked).toBeGreaterThanOrEqual(2);
    const live = await api.platform.db.select().from(authSessions).where(isNull(authSessions.revokedAt));
    expect(live).toEqual([]);
    for (const user of [one, two]) expect((await api.request("/v1/me", { headers: user.bearer })).status).toBe(401);
    expect((await api.request("/v1/me", { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);
    const [entry] = await api.platform.db
      .select()
      .from(auditLogs)
      .where(eq(auditLogs.action, "session.revoked_everyone"));
    expect(entry).toMatchObject({ actorType: "system", metadata: { sessions: JSON.parse(revoked.out).revoked } });
    // Signing in again works as ever.
    expect((await signIn(api, one.email, one.password)).status).toBe(200);
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
    const [summary, ...lines] = (await burrow("migrate:status")).out.trimEnd().split("\n");
    expect(summary).toMatch(/^migrations: \d+ applied, 0 pending \(current\)$/);
    expect(lines.length).toBe(parsed.migrations.expected);
    expect(lines.every((line) => /^ {2}applied {2}\d{4}_\w+$/.test(line))).toBe(true);
    const cleaned = await burrow("cleanup", "--json");
    expect(Object.keys(JSON.parse(cleaned.out).deleted)).toContain("auth.sessions");
  });

  test("usage errors and unknown addresses exit 2 with one line, and change nothing", async () => {
    const before = (await api.platform.db.select().from(auditLogs)).length;
    for (const argv of [
      ["unlock"],
      ["unlock", "nobody@example.com"],
      ["revoke-sessions", "nobody@example.com"],
      ["revoke-sessions"],
      ["revoke-sessions", "--all", "nobody@example.com"],
      ["create-admin", "not an address"],
      ["no-such-command"],
      ["status", "--colour"],
      ["migrate:rollback", "--to", "9999_no_such_migration"],
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

  test("migrate:rollback undoes the newest migration or back to --to, and migrate:status lists what is pending", async () => {
    // A database of its own: the API's stays fully migrated for the other tests.
    const database = await createTestDatabase();
    const own: CliTarget = {
      openDatabase: async () => database,
      openPlatform: () => Promise.reject(new Error("the migration commands need no platform")),
      close: async () => {},
    };
    try {
      const tags = (await database.migrationStatus()).migrations.map(({ tag }) => tag);
      const newest = tags.at(-1) as string;
      const rolledBack = await runBurrow(own, ["migrate:rollback"]);
      expect(rolledBack).toMatchObject({
        code: 0,
        out: `rolled back ${newest}\nnewest applied migration: ${tags.at(-2)}\n`,
      });
      const status = await runBurrow(own, ["migrate:status"]);
      expect(status.out).toStartWith(`migrations: ${tags.length - 1} applied, 1 pending\n`);
      expect(status.out).toContain(`  applied  ${tags.at(-2)}\n  pending  ${newest}\n`);
      const listed = JSON.parse((await runBurrow(own, ["migrate:status", "--json"])).out);
      expect(listed.migrations.pending).toBe(1);
      expect(listed.migrations.migrations.at(-1)).toEqual({ tag: newest, applied: false });

      const to = tags.at(-4) as string;
      const back = JSON.parse((await runBurrow(own, ["migrate:rollback", "--to", to, "--json"])).out);
      expect(back.rolledBack).toEqual([tags.at(-2), tags.at(-3)]);
      expect(back.migrations.migrations.filter((migration: { applied: boolean }) => migration.applied).at(-1).tag).toBe(
        to,
      );

      // An unknown tag: exit 2, one line, nothing rolled back.
      const unknown = await runBurrow(own, ["migrate:rollback", "--to", "9999_no_such_migration"]);
      expect(unknown).toEqual({
        code: 2,
        out: "",
        err: "burrow: There is no migration 9999_no_such_migration in the set.\n",
      });
      expect((await database.migrationStatus()).applied).toBe(tags.length - 3);

      expect((await runBurrow(own, ["migrate"])).code).toBe(0);
      expect((await database.migrationStatus()).current).toBe(true);
    } finally {
      await database.close();
    }
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
