// Test helpers: rbac composed over a fresh test database, and users to give roles to.
import { expect } from "bun:test";
import { eq } from "drizzle-orm";
import { createAuditLog, newId, PlatformError, type AuditLog } from "@burrow/platform-core";
import { createTestClock, createTestDatabase, type TestClock, type TestDatabase } from "@burrow/platform-core/testing";
import { users } from "@burrow/platform-auth/schema";
import { createRbac, type Rbac } from "./index.ts";
import { roles } from "./schema.ts";

export interface TestRbac {
  handle: TestDatabase;
  rbac: Rbac;
  clock: TestClock;
  audit: AuditLog;
  /** Inserts a user (no password, address unproven unless `verified`) and returns its id. */
  newUser(label?: string, options?: { verified?: boolean }): Promise<string>;
  /** The id of a role by key (the built-in ones are seeded by the migrations). */
  roleId(key: string): Promise<string>;
}

let counter = 0;

/** Rbac over a fresh test database (PGlite, or PostgreSQL when DATABASE_URL is set). */
export async function createTestRbac(
  options: { clock?: TestClock; permissions?: Record<string, string>; handle?: TestDatabase } = {},
): Promise<TestRbac> {
  const handle = options.handle ?? (await createTestDatabase());
  const clock = options.clock ?? createTestClock();
  const audit = createAuditLog({ clock, secret: "s".repeat(32), storeRawIp: false });
  const rbac = createRbac({
    db: handle.db,
    clock,
    audit,
    ...(options.permissions ? { permissions: options.permissions } : {}),
  });
  return {
    handle,
    rbac,
    clock,
    audit,
    async newUser(label = "user", { verified = false } = {}) {
      const id = newId("user");
      const address = `${label}-${++counter}@example.com`;
      await handle.db.insert(users).values({
        id,
        email: address,
        emailNormalized: address,
        emailVerifiedAt: verified ? clock.now() : null,
        createdAt: clock.now(),
        updatedAt: clock.now(),
      });
      return id;
    },
    roleId: async (key) => (await handle.db.select({ id: roles.id }).from(roles).where(eq(roles.key, key)))[0]!.id,
  };
}

/**
 * Of calls raced with Promise.allSettled: every rejection a PlatformError with one of `codes` (never a
 * database error), and how many of each.
 */
export function refusals(outcomes: PromiseSettledResult<unknown>[], codes: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    if (outcome.status === "fulfilled") continue;
    expect(outcome.reason).toBeInstanceOf(PlatformError);
    const { code } = outcome.reason as PlatformError;
    expect(codes).toContain(code);
    counts[code] = (counts[code] ?? 0) + 1;
  }
  return counts;
}
