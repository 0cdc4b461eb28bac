import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { newId, type DatabaseHandle, type SessionId, type UserId } from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { createTestClock } from "@burrow/platform-core/testing";
import type { Auth } from "../index.ts";
import { createTestAuth, testConfig } from "../test-auth.ts";
import { ADMIN_SESSION_LIFETIMES, REAUTHENTICATION_WINDOW_MS } from "../flows/lifetimes.ts";
import { authSessions, users } from "../schema.ts";
import { assertRecentAuthentication } from "./sessions.ts";

const config = testConfig();
const { idleTimeoutMs, absoluteLifetimeMs, activityRefreshMs } = config.session;
const DAY = 86_400_000;

describe("sessions", () => {
  let handle: DatabaseHandle;
  let auth: Auth;
  const clock = createTestClock();
  let counter = 0;

  beforeAll(async () => {
    ({ handle, auth } = await createTestAuth({ clock }));
  });
  afterAll(() => handle.close());

  /** A user row written directly: these rules are about sessions, not sign-up. */
  const newUser = async (): Promise<UserId> => {
    const id = newId("user") as UserId;
    const address = `session-user-${++counter}@example.com`;
    await handle.db
      .insert(users)
      .values({ id, email: address, emailNormalized: address, createdAt: clock.now(), updatedAt: clock.now() });
    return id;
  };
  const start = (userId: UserId, restriction?: "mfa_enrolment") =>
    auth.sessions.create(handle.db, {
      userId,
      methods: ["password"],
      request: { userAgent: "test" },
      ...(restriction ? { restriction } : {}),
    });
  const stored = async (sessionId: string) =>
    (await handle.db.select().from(authSessions).where(eq(authSessions.id, sessionId)))[0]!;
  const auditOf = (action: string, targetId: string) =>
    handle.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.action, action), eq(auditLogs.targetId, targetId)));

  test("create returns a token shaped ses_<id>.<secret> that validates to the session and its user", async () => {
    const userId = await newUser();
    const { session, token } = await start(userId);
    expect(token).toMatch(/^ses_[A-Za-z0-9]+\.[A-Za-z0-9_-]{43}$/);
    expect(token.split(".")[0]).toBe(session.id);
    // Only the hash of the secret is stored.
    expect(session.secretHash).not.toContain(token.split(".")[1]!);
    const result = await auth.sessions.validate(token);
    expect(result.reason).toBeNull();
    expect(result.session?.id).toBe(session.id);
    expect(result.user?.id).toBe(userId);
  });

  test("a token not shaped like ours is malformed", async () => {
    for (const token of ["", "nonsense", "ses_abc", "ses_abc.short", "usr_0123.xyz"])
      expect((await auth.sessions.validate(token)).reason).toBe("malformed");
  });

  test("a wrong secret for a real session is refused exactly as an unknown session is", async () => {
    const { token } = await start(await newUser());
    const [id, secret] = token.split(".") as [string, string];
    const wrongSecret = `${id}.${secret.startsWith("A") ? "B" : "A"}${secret.slice(1)}`;
    const unknownId = `${newId("session")}.${secret}`;
    const wrong = await auth.sessions.validate(wrongSecret);
    const unknown = await auth.sessions.validate(unknownId);
    expect(wrong).toEqual({ session: null, user: null, reason: "unknown" });
    expect(unknown).toEqual(wrong);
    // The real token still works: a wrong guess does not end the session.
    expect((await auth.sessions.validate(token)).reason).toBeNull();
  });

  test("a session unused for the idle timeout expires", async () => {
    const { token } = await start(await newUser());
    clock.advance(idleTimeoutMs - 1);
    expect((await auth.sessions.validate(token)).reason).toBeNull();
    // That use restarted the idle clock: idle again for the full timeout and it is over.
    clock.advance(idleTimeoutMs - 1);
    expect((await auth.sessions.validate(token)).reason).toBeNull();
    clock.advance(idleTimeoutMs);
    expect((await auth.sessions.validate(token)).reason).toBe("expired");
  });

  test("activity never carries a session past its absolute lifetime", async () => {
    const { session, token } = await start(await newUser());
    expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(absoluteLifetimeMs);
    const step = Math.floor(idleTimeoutMs / 2);
    let elapsed = 0;
    while (elapsed + step < absoluteLifetimeMs) {
      clock.advance(step);
      elapsed += step;
      expect((await auth.sessions.validate(token)).reason).toBeNull();
    }
    clock.advance(absoluteLifetimeMs - elapsed);
    expect((await auth.sessions.validate(token)).reason).toBe("expired");
    expect(await auth.sessions.list(handle.db, session.userId as UserId)).toEqual([]);
  });

  /**
   * Validates twice just inside one activity interval (no write), then once at its end (the write);
   * returns the time written.
   */
  async function writtenOncePerInterval(session: { id: string; lastActiveAt: Date }, token: string): Promise<number> {
    const createdAt = session.lastActiveAt.getTime();
    clock.advance(activityRefreshMs - 1);
    await auth.sessions.validate(token);
    await auth.sessions.validate(token);
    expect((await stored(session.id)).lastActiveAt.getTime()).toBe(createdAt);
    clock.advance(1);
    await auth.sessions.validate(token);
    expect((await stored(session.id)).lastActiveAt.getTime()).toBe(createdAt + activityRefreshMs);
    return createdAt + activityRefreshMs;
  }

  test("validation writes last activity at most once per activityRefreshMs", async () => {
    const { session, token } = await start(await newUser());
    const refreshedAt = await writtenOncePerInterval(session, token);
    // Within the next interval, no further write.
    clock.advance(activityRefreshMs - 1);
    await auth.sessions.validate(token);
    expect((await stored(session.id)).lastActiveAt.getTime()).toBe(refreshedAt);
  });

  describe("with the session cache (this process listening)", () => {
    let unlisten: () => Promise<void>;
    beforeAll(async () => {
      const { listener } = auth.sessions.cache;
      unlisten = await handle.listen(listener.channel, (payload) => listener.onNotify(payload), {
        onConnectionChange: (connected) => listener.onConnectionChange!(connected),
      });
    });
    afterAll(async () => {
      await unlisten();
      auth.sessions.cache.listener.onConnectionChange!(false);
    });

    /** Revoked behind the cache's back: only a validation that reads the database sees it. */
    const revokeBehindTheCache = (sessionId: string) =>
      handle.db.update(authSessions).set({ revokedAt: clock.now() }).where(eq(authSessions.id, sessionId));

    test("a cached validation is answered from memory, until a revocation here drops it at once", async () => {
      const userId = await newUser();
      const { session, token } = await start(userId);
      expect((await auth.sessions.validate(token)).reason).toBeNull();
      await revokeBehindTheCache(session.id);
      expect((await auth.sessions.validate(token)).reason).toBeNull();
      expect((await auth.sessions.validateById(session.id)).reason).toBeNull();
      // `fresh` reads the database.
      expect((await auth.sessions.validate(token, "app", { fresh: true })).reason).toBe("revoked");
      await handle.db.update(authSessions).set({ revokedAt: null }).where(eq(authSessions.id, session.id));
      expect(await auth.sessions.revoke(handle.db, userId, session.id as SessionId, "test")).toBe(true);
      expect((await auth.sessions.validate(token)).reason).toBe("revoked");
    });

    test("a wrong secret for a cached session is refused", async () => {
      const { token } = await start(await newUser());
      expect((await auth.sessions.validate(token)).reason).toBeNull();
      const forged = `${token.split(".")[0]}.${"A".repeat(43)}`;
      expect((await auth.sessions.validate(forged)).reason).toBe("unknown");
    });

    test("last activity is still written at most once per activityRefreshMs", async () => {
      const { session, token } = await start(await newUser());
      const refreshedAt = await writtenOncePerInterval(session, token);
      expect(auth.sessions.cache.get(session.id)).toBeDefined();
      // The cached copy carries the write: no further one within the next interval.
      await handle.db
        .update(authSessions)
        .set({ lastActiveAt: new Date(0) })
        .where(eq(authSessions.id, session.id));
      clock.advance(activityRefreshMs - 1);
      await auth.sessions.validate(token);
      expect((await stored(session.id)).lastActiveAt.getTime()).toBe(0);
      clock.advance(1);
      await auth.sessions.validate(token);
      expect((await stored(session.id)).lastActiveAt.getTime()).toBe(refreshedAt + activityRefreshMs);
    });

    test("a cached session past its idle timeout is refused", async () => {
      const { token } = await start(await newUser());
      expect((await auth.sessions.validate(token)).reason).toBeNull();
      clock.advance(idleTimeoutMs);
      expect((await auth.sessions.validate(token)).reason).toBe("expired");
    });

    test("renewing drops the old token at once; a step-up shows on the next validation", async () => {
      const { session, token } = await start(await newUser());
      expect((await auth.sessions.validate(token)).reason).toBeNull();
      const renewed = await auth.sessions.renew(handle.db, session.id);
      expect((await auth.sessions.validate(token)).reason).toBe("unknown");
      const cached = await auth.sessions.validate(renewed);
      expect(cached.reason).toBeNull();
      clock.advance(60_000);
      await auth.sessions.markAuthenticated(handle.db, cached.session!, "totp");
      const after = await auth.sessions.validate(renewed);
      expect(after.session?.authenticatedAt.getTime()).toBe(clock.now().getTime());
      expect(after.session?.authMethods).toEqual(["password", "totp"]);
    });

    test("a change to the user drops their cached sessions", async () => {
      const userId = await newUser();
      const { token } = await start(userId);
      expect((await auth.sessions.validate(token)).reason).toBeNull();
      await handle.db.transaction(async (tx) => {
        await tx.update(users).set({ status: "suspended" }).where(eq(users.id, userId));
        await auth.sessions.changed(tx, { userId });
      });
      expect((await auth.sessions.validate(token)).reason).toBe("suspended");
    });

    test("admin-console sessions are never cached", async () => {
      const userId = await newUser();
      const { session, token } = await auth.sessions.create(handle.db, {
        userId,
        methods: ["password"],
        request: {},
        audience: "admin",
      });
      expect((await auth.sessions.validate(token, "admin")).reason).toBeNull();
      expect(auth.sessions.cache.get(session.id)).toBeUndefined();
      await revokeBehindTheCache(session.id);
      expect((await auth.sessions.validate(token, "admin")).reason).toBe("revoked");
    });
  });

  test("a suspended user's session is refused as suspended", async () => {
    const userId = await newUser();
    const { token } = await start(userId);
    await handle.db.update(users).set({ status: "suspended" }).where(eq(users.id, userId));
    expect((await auth.sessions.validate(token)).reason).toBe("suspended");
  });

  test("revoke ends one of the user's sessions, once, and never another user's", async () => {
    const userId = await newUser();
    const other = await newUser();
    const { session, token } = await start(userId);
    expect(await auth.sessions.revoke(handle.db, other, session.id as SessionId, "test")).toBe(false);
    expect((await auth.sessions.validate(token)).reason).toBeNull();
    expect(await auth.sessions.revoke(handle.db, userId, session.id as SessionId, "test")).toBe(true);
    expect(await auth.sessions.revoke(handle.db, userId, session.id as SessionId, "test")).toBe(false);
    expect((await auth.sessions.validate(token)).reason).toBe("revoked");
    expect((await stored(session.id)).revokedReason).toBe("test");
  });

  test("revokeAll ends every active session of the user except keep, and counts them", async () => {
    const userId = await newUser();
    const bystander = await start(await newUser());
    const kept = await start(userId);
    const others = [await start(userId), await start(userId)];
    expect(await auth.sessions.revokeAll(handle.db, userId, "test", kept.session.id as SessionId)).toBe(2);
    expect((await auth.sessions.validate(kept.token)).reason).toBeNull();
    for (const { token } of others) expect((await auth.sessions.validate(token)).reason).toBe("revoked");
    expect((await auth.sessions.validate(bystander.token)).reason).toBeNull();
    // Without keep, the rest go too; revoked ones are not counted again.
    expect(await auth.sessions.revokeAll(handle.db, userId, "test")).toBe(1);
    expect((await auth.sessions.validate(kept.token)).reason).toBe("revoked");
  });

  test("revokeOwn ends the caller's own session (audited); another user's or an unknown one is not_found", async () => {
    const userId = await newUser();
    const caller = await start(userId);
    const mine = await start(userId);
    const theirs = await start(await newUser());
    await expect(auth.sessions.revokeOwn(caller.session, theirs.session.id as SessionId, {})).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(auth.sessions.revokeOwn(caller.session, newId("session") as SessionId, {})).rejects.toMatchObject({
      code: "not_found",
    });
    expect((await auth.sessions.validate(theirs.token)).reason).toBeNull();
    expect(await auditOf("session.revoked", theirs.session.id)).toEqual([]);

    await auth.sessions.revokeOwn(caller.session, mine.session.id as SessionId, {});
    expect((await auth.sessions.validate(mine.token)).reason).toBe("revoked");
    expect((await auth.sessions.validate(caller.token)).reason).toBeNull();
    const [entry] = await auditOf("session.revoked", mine.session.id);
    expect(entry).toMatchObject({ actorType: "user", actorId: userId, targetType: "session" });
    // Already revoked: not found again.
    await expect(auth.sessions.revokeOwn(caller.session, mine.session.id as SessionId, {})).rejects.toMatchObject({
      code: "not_found",
    });
  });

  test("revokeOthers ends every other session of the caller, keeps the caller's, and is audited with the count", async () => {
    const userId = await newUser();
    const caller = await start(userId);
    const others = [await start(userId), await start(userId), await start(userId)];
    const bystander = await start(await newUser());
    expect(await auth.sessions.revokeOthers(caller.session, {})).toBe(3);
    expect((await auth.sessions.validate(caller.token)).reason).toBeNull();
    for (const { token } of others) expect((await auth.sessions.validate(token)).reason).toBe("revoked");
    expect((await auth.sessions.validate(bystander.token)).reason).toBeNull();
    const [entry] = await auditOf("session.revoked_others", userId);
    expect(entry).toMatchObject({ actorId: userId, metadata: { count: 3 } });
  });

  test("renew gives the session a new token and the old one stops working", async () => {
    const { session, token } = await start(await newUser());
    const renewed = await auth.sessions.renew(handle.db, session.id);
    expect(renewed).not.toBe(token);
    expect(renewed.split(".")[0]).toBe(session.id);
    expect((await auth.sessions.validate(token)).reason).toBe("unknown");
    expect((await auth.sessions.validate(renewed)).session?.id).toBe(session.id);
  });

  test("a restricted session is marked so; liftRestriction frees all the user's and renews only the current one", async () => {
    const userId = await newUser();
    const current = await start(userId, "mfa_enrolment");
    const second = await start(userId, "mfa_enrolment");
    const full = await start(userId);
    const elsewhere = await start(await newUser(), "mfa_enrolment");
    expect(current.session.restriction).toBe("mfa_enrolment");
    expect(auth.sessions.toPublic(current.session).restricted).toBe(true);
    expect(auth.sessions.toPublic(full.session).restricted).toBe(false);

    const { lifted, token } = await auth.sessions.liftRestriction(handle.db, userId, current.session.id);
    expect(lifted).toBe(2);
    expect(token).not.toBeNull();
    expect((await auth.sessions.validate(current.token)).reason).toBe("unknown");
    const validated = await auth.sessions.validate(token!);
    expect(validated.session?.id).toBe(current.session.id);
    expect(validated.session?.restriction).toBeNull();
    // The other lifted session keeps its token; the other user's stays restricted.
    expect((await auth.sessions.validate(second.token)).session?.restriction).toBeNull();
    expect((await auth.sessions.validate(full.token)).reason).toBeNull();
    expect((await stored(elsewhere.session.id)).restriction).toBe("mfa_enrolment");

    // Nothing restricted any more: nothing lifted, and a named current session gets no new token.
    expect(await auth.sessions.liftRestriction(handle.db, userId, full.session.id)).toEqual({ lifted: 0, token: null });
    expect((await auth.sessions.validate(full.token)).reason).toBeNull();
  });

  test("assertRecent allows 10 minutes after authentication, then reauthentication_required until markAuthenticated", async () => {
    const { session, token } = await start(await newUser());
    expect(REAUTHENTICATION_WINDOW_MS).toBe(10 * 60_000);
    clock.advance(REAUTHENTICATION_WINDOW_MS);
    expect(() => auth.sessions.assertRecent(session)).not.toThrow();
    clock.advance(1);
    expect(() => auth.sessions.assertRecent(session)).toThrow(
      expect.objectContaining({ code: "reauthentication_required" }),
    );
    await auth.sessions.markAuthenticated(handle.db, session, "totp");
    const fresh = (await auth.sessions.validate(token)).session!;
    expect(fresh.authMethods).toEqual(["password", "totp"]);
    expect(() => auth.sessions.assertRecent(fresh)).not.toThrow();
    // A method already recorded is not listed twice.
    await auth.sessions.markAuthenticated(handle.db, fresh, "totp");
    expect((await stored(session.id)).authMethods).toEqual(["password", "totp"]);
  });

  test("assertRecentAuthentication is the one 10-minute step-up rule", () => {
    const authenticatedAt = new Date("2026-01-01T00:00:00.000Z");
    const at = (ms: number) => new Date(authenticatedAt.getTime() + ms);
    expect(() => assertRecentAuthentication({ authenticatedAt }, at(0))).not.toThrow();
    expect(() => assertRecentAuthentication({ authenticatedAt }, at(10 * 60_000))).not.toThrow();
    expect(() => assertRecentAuthentication({ authenticatedAt }, at(10 * 60_000 + 1))).toThrow(
      expect.objectContaining({ code: "reauthentication_required", status: 403 }),
    );
    expect(() => assertRecentAuthentication({ authenticatedAt }, at(DAY))).toThrow(
      expect.objectContaining({ code: "reauthentication_required" }),
    );
  });

  test("an admin console session is valid for the console only, ends after 30 idle minutes and 12 hours", async () => {
    const userId = await newUser();
    const { session, token } = await auth.sessions.create(handle.db, {
      userId,
      methods: ["password", "totp"],
      request: {},
      audience: "admin",
    });
    expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(ADMIN_SESSION_LIFETIMES.absoluteLifetimeMs);
    expect(ADMIN_SESSION_LIFETIMES).toMatchObject({ idleTimeoutMs: 30 * 60_000, absoluteLifetimeMs: 12 * 3_600_000 });
    // The API's check (the default audience) does not know it, and the console does not know an app session.
    expect((await auth.sessions.validate(token)).reason).toBe("unknown");
    expect((await auth.sessions.validateById(session.id)).reason).toBe("unknown");
    const app = await start(userId);
    expect((await auth.sessions.validate(app.token, "admin")).reason).toBe("unknown");
    expect((await auth.sessions.validate(token, "admin")).session?.id).toBe(session.id);

    // Used every 29 minutes it lives on; 30 idle minutes end it (the app's idle timeout is longer).
    expect(idleTimeoutMs).toBeGreaterThan(ADMIN_SESSION_LIFETIMES.idleTimeoutMs);
    clock.advance(29 * 60_000);
    expect((await auth.sessions.validate(token, "admin")).reason).toBeNull();
    clock.advance(30 * 60_000);
    expect((await auth.sessions.validate(token, "admin")).reason).toBe("expired");

    // However active, it ends 12 hours after it began.
    const busy = await auth.sessions.create(handle.db, {
      userId,
      methods: ["password"],
      request: {},
      audience: "admin",
    });
    for (let minutes = 0; minutes < 12 * 60 - 20; minutes += 20) {
      clock.advance(20 * 60_000);
      expect((await auth.sessions.validate(busy.token, "admin")).reason).toBeNull();
    }
    clock.advance(20 * 60_000);
    expect((await auth.sessions.validate(busy.token, "admin")).reason).toBe("expired");
  });
});
