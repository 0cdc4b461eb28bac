import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { integer, pgTable, text } from "drizzle-orm/pg-core";
import { timestamptz } from "./database/columns.ts";
import type { DatabaseHandle } from "./database/index.ts";
import { mintSecret, secretHash, singleUse } from "./single-use.ts";
import { createTestClock, createTestDatabase } from "./test-database.ts";

// A table of the shape every owner of single-use secrets has; made by the test in its own database.
const probes = pgTable("single_use_probes", {
  id: text("id").primaryKey(),
  owner: text("owner").notNull(),
  tokenHash: text("token_hash").notNull(),
  expiresAt: timestamptz("expires_at").notNull(),
  usedAt: timestamptz("used_at"),
  usedBy: text("used_by"),
  revokedAt: timestamptz("revoked_at"),
  attempts: integer("attempts").notNull().default(0),
  createdAt: timestamptz("created_at").notNull(),
});
const columns = {
  id: probes.id,
  expiresAt: probes.expiresAt,
  usedAt: probes.usedAt,
  revokedAt: probes.revokedAt,
  attempts: probes.attempts,
};

describe("single-use secrets", () => {
  let handle: DatabaseHandle;
  const clock = createTestClock();
  const secrets = singleUse(probes, columns, { maxAttempts: 3 });
  let counter = 0;
  beforeAll(async () => {
    handle = await createTestDatabase();
    await handle.db.execute(
      sql`create table single_use_probes (id text primary key, owner text not null, token_hash text not null unique,
        expires_at timestamptz not null, used_at timestamptz, used_by text, revoked_at timestamptz,
        attempts integer not null default 0, created_at timestamptz not null)`,
    );
  });
  afterAll(() => handle.close());

  /** Issues one secret for `owner`, good for a minute; returns the secret and its row id. */
  async function issue(owner = "ada", ttlMs = 60_000): Promise<{ secret: string; id: string }> {
    const { secret, hash } = mintSecret();
    const id = `probe-${++counter}`;
    await handle.db.insert(probes).values({
      id,
      owner,
      tokenHash: hash,
      expiresAt: new Date(clock.now().getTime() + ttlMs),
      createdAt: clock.now(),
    });
    return { secret, id };
  }
  const byHash = (secret: string) => eq(probes.tokenHash, secretHash(secret)!);

  test("a secret is 256 random bits kept only as its hash; anything of another shape is no secret", () => {
    const { secret, hash } = mintSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(secret);
    expect(secretHash(secret)).toBe(hash);
    expect(mintSecret().secret).not.toBe(secret);
    for (const malformed of ["", "short", `${secret}x`, `${secret.slice(0, 42)}!`])
      expect(secretHash(malformed)).toBeUndefined();
  });

  test("redeemed once: the second redemption, and two racing ones, get one row between them", async () => {
    const { secret } = await issue();
    const row = await secrets.redeem(handle.db, clock.now(), byHash(secret), { usedBy: "first" });
    expect(row).toMatchObject({ owner: "ada", usedBy: "first" });
    expect(row!.usedAt).toEqual(clock.now());
    expect(await secrets.redeem(handle.db, clock.now(), byHash(secret))).toBeUndefined();
    expect(await secrets.find(handle.db, clock.now(), byHash(secret))).toBeUndefined();

    const raced = await issue();
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () => secrets.redeem(handle.db, clock.now(), byHash(raced.secret))),
    );
    expect(outcomes.filter((outcome) => outcome !== undefined)).toHaveLength(1);
  });

  test("expired and revoked secrets are not live; revoking skips used ones and counts what it ended", async () => {
    const expiring = await issue("ada", 1_000);
    clock.advance(999);
    expect(await secrets.find(handle.db, clock.now(), byHash(expiring.secret))).toBeDefined();
    clock.advance(1);
    expect(await secrets.find(handle.db, clock.now(), byHash(expiring.secret))).toBeUndefined();
    expect(await secrets.redeem(handle.db, clock.now(), byHash(expiring.secret))).toBeUndefined();

    const used = await issue("grace");
    await secrets.redeem(handle.db, clock.now(), byHash(used.secret));
    const first = await issue("grace");
    const second = await issue("grace");
    expect(await secrets.revoke(handle.db, clock.now(), eq(probes.owner, "grace"))).toBe(2);
    for (const revoked of [first, second])
      expect(await secrets.redeem(handle.db, clock.now(), byHash(revoked.secret))).toBeUndefined();
    // Nothing left to end, and the used one stays as it was.
    expect(await secrets.revoke(handle.db, clock.now(), eq(probes.owner, "grace"))).toBe(0);
    const [kept] = await handle.db.select().from(probes).where(eq(probes.id, used.id));
    expect(kept!.revokedAt).toBeNull();
  });

  test("tries counted before the check stop at the limit, and the row can still be redeemed after a right one", async () => {
    const { secret, id } = await issue("alan");
    const counted = [];
    for (let index = 0; index < 4; index++) counted.push(await secrets.countAttempt(handle.db, clock.now(), id));
    expect(counted).toEqual([true, true, true, false]);
    // Out of tries: no longer found for another try, but the try that was counted may still redeem it.
    expect(await secrets.find(handle.db, clock.now(), byHash(secret))).toBeUndefined();
    expect(await secrets.redeem(handle.db, clock.now(), eq(probes.id, id))).toBeDefined();
  });

  test("misses counted after the check revoke the row at the limit", async () => {
    const { secret, id } = await issue("grace-hopper");
    await secrets.countMiss(handle.db, clock.now(), id);
    await secrets.countMiss(handle.db, clock.now(), id);
    expect(await secrets.find(handle.db, clock.now(), byHash(secret))).toBeDefined();
    await secrets.countMiss(handle.db, clock.now(), id);
    const [row] = await handle.db.select().from(probes).where(eq(probes.id, id));
    expect(row).toMatchObject({ attempts: 3, revokedAt: clock.now() });
    expect(await secrets.redeem(handle.db, clock.now(), eq(probes.id, id))).toBeUndefined();
  });

  test("find picks the newest live row when asked, and locks it inside a transaction", async () => {
    await issue("newest");
    clock.advance(1);
    const latest = await issue("newest");
    const found = await handle.db.transaction((tx) =>
      secrets.find(tx, clock.now(), eq(probes.owner, "newest"), { lock: true, newestBy: probes.createdAt }),
    );
    expect(found?.id).toBe(latest.id);
  });

  test("a table without attempts or revocation still redeems once", async () => {
    const plain = singleUse(probes, { id: probes.id, expiresAt: probes.expiresAt, usedAt: probes.usedAt });
    const { id } = await issue("plain");
    expect(await plain.countAttempt(handle.db, clock.now(), id)).toBe(true);
    expect(await plain.redeem(handle.db, clock.now(), eq(probes.id, id))).toBeDefined();
    expect(await plain.redeem(handle.db, clock.now(), eq(probes.id, id))).toBeUndefined();
    await expect(plain.revoke(handle.db, clock.now(), eq(probes.id, id))).rejects.toThrow(TypeError);
  });
});
