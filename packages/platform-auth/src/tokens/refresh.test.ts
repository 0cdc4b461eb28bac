import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import {
  createAuditLog,
  newId,
  secretHash,
  userEvent,
  type AuditEvent,
  type AuditLog,
  type DatabaseHandle,
  type UserId,
} from "@burrow/platform-core";
import { auditLogs } from "@burrow/platform-core/schema";
import { createTestClock } from "@burrow/platform-core/testing";
import type { Auth } from "../index.ts";
import { createTestAuth, testConfig } from "../test-auth.ts";
import { authSessions, refreshTokenFamilies, refreshTokens, users } from "../schema.ts";
import { createRefreshTokens, type RotationAudit } from "./refresh.ts";

const HOUR = 3_600_000;
const env = {
  // The session idles out before its refresh token does, and the token before the family ends.
  BURROW_SESSION_IDLE: "1d",
  BURROW_REFRESH_IDLE: "2d",
  BURROW_REFRESH_GRACE: "10s",
};
const config = testConfig(env);
const graceMs = config.tokens.refreshGraceMs;

describe("refresh tokens", () => {
  let handle: DatabaseHandle;
  let auth: Auth;
  let audit: AuditLog;
  const clock = createTestClock();
  let counter = 0;

  beforeAll(async () => {
    ({ handle, auth, audit } = await createTestAuth({ clock, env }));
  });
  afterAll(() => handle.close());

  /** A user, a session and the first token of a family bound to it. */
  const startFamily = async (options: { restriction?: "mfa_enrolment" } = {}) => {
    const userId = newId("user") as UserId;
    const address = `refresh-${++counter}@example.com`;
    await handle.db
      .insert(users)
      .values({ id: userId, email: address, emailNormalized: address, createdAt: clock.now(), updatedAt: clock.now() });
    const { session, token: sessionToken } = await auth.sessions.create(handle.db, {
      userId,
      methods: ["password"],
      request: {},
      ...options,
    });
    const refreshToken = await auth.refreshTokens.start(handle.db, { sessionId: session.id, userId });
    return { userId, session, sessionToken, refreshToken };
  };
  const family = async (familyId: string) =>
    (await handle.db.select().from(refreshTokenFamilies).where(eq(refreshTokenFamilies.id, familyId)))[0]!;
  const invalid = { code: "invalid_token" };

  test("every use returns a new token for the same session and family", async () => {
    const { userId, session, refreshToken } = await startFamily();
    expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const first = await auth.refreshTokens.rotate(refreshToken, {});
    expect(first).toMatchObject({ sessionId: session.id, userId, orgId: null });
    expect(first.refreshToken).not.toBe(refreshToken);
    clock.advance(graceMs + 1);
    const second = await auth.refreshTokens.rotate(first.refreshToken, {});
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.familyId).toBe(first.familyId);
    expect((await family(first.familyId)).revokedAt).toBeNull();
  });

  const issuedEvent: RotationAudit = ({ userId, familyId }) =>
    userEvent(userId, "token.issued", { metadata: { grantType: "refresh_token", familyId } });
  const entriesFor = async (familyId: string) =>
    (await handle.db.select().from(auditLogs).where(eq(auditLogs.action, "token.issued"))).filter(
      (entry) => entry.metadata.familyId === familyId,
    );
  const rowsOf = async (familyId: string) =>
    handle.db.select().from(refreshTokens).where(eq(refreshTokens.familyId, familyId));

  test("a rotation writes its audit entry with it: once, and only when it rotates", async () => {
    const { refreshToken } = await startFamily();
    const rotated = await auth.refreshTokens.rotate(refreshToken, { requestId: "req_1" }, issuedEvent);
    const entries = await entriesFor(rotated.familyId);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorId: rotated.userId, targetId: rotated.userId, requestId: "req_1" });
    expect(entries[0]!.occurredAt.getTime()).toBe(clock.now().getTime());
    // Its successor is there beside the token it replaced.
    expect(await rowsOf(rotated.familyId)).toHaveLength(2);
    // A refused rotation writes no entry.
    const { refreshToken: other, session } = await startFamily();
    await auth.sessions.revokeById(handle.db, session.id, "test");
    await expect(auth.refreshTokens.rotate(other, {}, issuedEvent)).rejects.toMatchObject(invalid);
    expect(await handle.db.select().from(auditLogs).where(eq(auditLogs.targetId, session.userId))).toHaveLength(0);
  });

  test("an observer acting on the entry gets it in the rotation's transaction: if it throws, nothing is rotated", async () => {
    const seen: string[] = [];
    let refuse = true;
    const observer = Object.assign(
      async (_db: unknown, event: AuditEvent) => {
        if (refuse) throw new Error("observer refused");
        seen.push(event.action);
      },
      { actions: new Set(["token.issued"]) },
    );
    const observed = createRefreshTokens({
      db: handle.db,
      config,
      clock,
      audit: createAuditLog({ clock, secret: "s".repeat(32), storeRawIp: false, observers: [observer] }),
      sessions: auth.sessions,
    });
    const { session, userId } = await startFamily();
    const token = await observed.start(handle.db, { sessionId: session.id, userId });
    await expect(observed.rotate(token, {}, issuedEvent)).rejects.toThrow("observer refused");
    refuse = false;
    clock.advance(graceMs + 1);
    // Outside the grace window a retired token would be reuse; this one was never retired.
    const rotated = await observed.rotate(token, {}, issuedEvent);
    expect(seen).toEqual(["token.issued"]);
    expect(await entriesFor(rotated.familyId)).toHaveLength(1);
    expect(await rowsOf(rotated.familyId)).toHaveLength(2);
  });

  test("a family revoked between the rotation's read and its write is not rotated", async () => {
    const { session, userId, sessionToken } = await startFamily();
    let revokeFirst = true;
    // The real database, where the rotation's write (a statement built once, run through the
    // session's prepareQuery) is preceded by a revocation from elsewhere.
    const realSession = handle.db._.session;
    const interleaved = new Proxy(handle.db, {
      get(target, key, receiver) {
        if (key !== "_") return Reflect.get(target, key, receiver);
        const prepareQuery: typeof realSession.prepareQuery = (...args) => {
          const prepared = realSession.prepareQuery(...args);
          const execute = prepared.execute.bind(prepared);
          prepared.execute = async (...values) => {
            if (revokeFirst) {
              revokeFirst = false;
              await auth.sessions.revokeById(target, session.id, "signed_out_elsewhere");
            }
            return execute(...values);
          };
          return prepared;
        };
        return { ...target._, session: Object.assign(Object.create(realSession), { prepareQuery }) };
      },
    });
    const raced = createRefreshTokens({ db: interleaved, config, clock, audit, sessions: auth.sessions });
    const token = await raced.start(handle.db, { sessionId: session.id, userId });
    await expect(raced.rotate(token, {}, issuedEvent)).rejects.toMatchObject(invalid);
    expect(revokeFirst).toBe(false);
    const [family] = await handle.db
      .select({ id: refreshTokenFamilies.id })
      .from(refreshTokenFamilies)
      .where(eq(refreshTokenFamilies.sessionId, session.id));
    // The token was not retired, no successor was made and nothing was audited as issued.
    expect((await rowsOf(family!.id)).map((row) => row.rotatedAt)).toEqual([null]);
    expect(await entriesFor(family!.id)).toHaveLength(0);
    expect((await auth.sessions.validate(sessionToken)).reason).toBe("revoked");
  });

  test("a token this node issued by rotating is redeemed without a read; the database still decides", async () => {
    // Counts the runs of the rotation's read (the lookup by the token's hash).
    let reads = 0;
    const realSession = handle.db._.session;
    const prepareQuery: typeof realSession.prepareQuery = (...args) => {
      const prepared = realSession.prepareQuery(...args);
      if (!args[0].sql.includes('"refresh_tokens"."token_hash" =')) return prepared;
      const execute = prepared.execute.bind(prepared);
      prepared.execute = (...values) => {
        reads++;
        return execute(...values);
      };
      return prepared;
    };
    const counted = Object.assign(Object.create(realSession), { prepareQuery });
    const db = new Proxy(handle.db, {
      get(target, key, receiver) {
        if (key === "session") return counted;
        if (key === "_") return { ...target._, session: counted };
        return Reflect.get(target, key, receiver);
      },
    });
    const tokens = createRefreshTokens({ db, config, clock, audit, sessions: auth.sessions });
    const chain = async () => {
      const { session, userId } = await startFamily();
      const first = await tokens.start(handle.db, { sessionId: session.id, userId });
      const { refreshToken: second, familyId } = await tokens.rotate(first, {}, issuedEvent);
      return { session, userId, second, familyId };
    };

    const { session, second, familyId } = await chain();
    expect(reads).toBe(1);
    const third = (await tokens.rotate(second, {}, issuedEvent)).refreshToken;
    const fourth = (await tokens.rotate(third, {}, issuedEvent)).refreshToken;
    expect(reads).toBe(1);
    // Used twice within the grace window: the second use is read, and judged as before.
    expect((await tokens.rotate(third, {}, issuedEvent)).refreshToken).not.toBe(fourth);
    expect(reads).toBe(2);
    expect(await entriesFor(familyId)).toHaveLength(4);

    // Revoked, suspended or restricted since the token was issued: refused, and nothing is rotated.
    await auth.sessions.revokeById(handle.db, session.id, "signed_out_elsewhere");
    await expect(tokens.rotate(fourth, {}, issuedEvent)).rejects.toMatchObject(invalid);
    const suspended = await chain();
    await handle.db.update(users).set({ status: "suspended" }).where(eq(users.id, suspended.userId));
    await expect(tokens.rotate(suspended.second, {}, issuedEvent)).rejects.toMatchObject(invalid);
    const restricted = await chain();
    await handle.db
      .update(authSessions)
      .set({ restriction: "mfa_enrolment" })
      .where(eq(authSessions.id, restricted.session.id));
    await expect(tokens.rotate(restricted.second, {}, issuedEvent)).rejects.toMatchObject(invalid);
    for (const refused of [fourth, suspended.second, restricted.second]) {
      const [row] = await handle.db
        .select({ rotatedAt: refreshTokens.rotatedAt })
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, secretHash(refused)!));
      expect(row?.rotatedAt).toBeNull();
    }
  });

  test("reuse of a rotated token after the grace window revokes the whole family and its session, audited", async () => {
    const { userId, sessionToken, refreshToken } = await startFamily();
    const rotated = await auth.refreshTokens.rotate(refreshToken, {});
    clock.advance(graceMs + 1);
    await expect(auth.refreshTokens.rotate(refreshToken, {})).rejects.toMatchObject(invalid);
    // The revocation was committed although the call failed: the successor is dead, and so is the session.
    await expect(auth.refreshTokens.rotate(rotated.refreshToken, {})).rejects.toMatchObject(invalid);
    expect(await family(rotated.familyId)).toMatchObject({ revokedReason: "refresh_token_reuse" });
    expect((await auth.sessions.validate(sessionToken)).reason).toBe("revoked");
    const entries = await handle.db.select().from(auditLogs).where(eq(auditLogs.targetId, userId));
    expect(entries.map((entry) => [entry.action, entry.outcome])).toEqual(
      expect.arrayContaining([
        ["security.refresh_token_reuse", "denied"],
        ["refresh_token.family_revoked", "success"],
      ]),
    );
  });

  test("within the grace window a rotated token still refreshes and the family survives", async () => {
    const { sessionToken, refreshToken } = await startFamily();
    const first = await auth.refreshTokens.rotate(refreshToken, {});
    clock.advance(graceMs);
    const again = await auth.refreshTokens.rotate(refreshToken, {});
    expect(again.familyId).toBe(first.familyId);
    expect(again.refreshToken).not.toBe(first.refreshToken);
    expect((await family(first.familyId)).revokedAt).toBeNull();
    expect((await auth.sessions.validate(sessionToken)).reason).toBeNull();
    // One millisecond past the window it is reuse.
    clock.advance(1);
    await expect(auth.refreshTokens.rotate(refreshToken, {})).rejects.toMatchObject(invalid);
    expect((await family(first.familyId)).revokedReason).toBe("refresh_token_reuse");
  });

  test("parallel refreshes with one token all succeed inside the grace window", async () => {
    const { refreshToken } = await startFamily();
    const results = await Promise.all([1, 2, 3].map(() => auth.refreshTokens.rotate(refreshToken, {})));
    expect(new Set(results.map((result) => result.refreshToken)).size).toBe(3);
    expect(new Set(results.map((result) => result.familyId)).size).toBe(1);
    expect((await family(results[0]!.familyId)).revokedAt).toBeNull();
  });

  test("with the grace window off, the first reuse revokes the family", async () => {
    const strict = createRefreshTokens({
      db: handle.db,
      config: testConfig({ ...env, BURROW_REFRESH_GRACE: "0" }),
      clock,
      audit,
      sessions: auth.sessions,
    });
    const { session, userId, sessionToken } = await startFamily();
    const token = await strict.start(handle.db, { sessionId: session.id, userId });
    const rotated = await strict.rotate(token, {});
    await expect(strict.rotate(token, {})).rejects.toMatchObject(invalid);
    expect((await family(rotated.familyId)).revokedReason).toBe("refresh_token_reuse");
    expect((await auth.sessions.validate(sessionToken)).reason).toBe("revoked");
  });

  test("a refresh past the session's idle timeout is refused and does not revive the session", async () => {
    const { sessionToken, refreshToken } = await startFamily();
    clock.advance(config.session.idleTimeoutMs);
    // The refresh token itself (2 days idle) has not expired; the session has.
    await expect(auth.refreshTokens.rotate(refreshToken, {})).rejects.toMatchObject(invalid);
    expect((await auth.sessions.validate(sessionToken)).reason).toBe("expired");
  });

  test("a refresh is use of the session: it keeps the session's idle clock running", async () => {
    const { sessionToken, refreshToken } = await startFamily();
    let token = refreshToken;
    for (let step = 0; step < 3; step++) {
      clock.advance(config.session.idleTimeoutMs - HOUR);
      token = (await auth.refreshTokens.rotate(token, {})).refreshToken;
    }
    expect((await auth.sessions.validate(sessionToken)).reason).toBeNull();
  });

  test("a refresh writes the session's activity at most once per activity interval", async () => {
    const { session, refreshToken } = await startFamily();
    const lastActive = async () =>
      (await handle.db.select().from(authSessions).where(eq(authSessions.id, session.id)))[0]!.lastActiveAt.getTime();
    const created = await lastActive();
    clock.advance(config.session.activityRefreshMs / 2);
    let token = (await auth.refreshTokens.rotate(refreshToken, {})).refreshToken;
    expect(await lastActive()).toBe(created);
    clock.advance(config.session.activityRefreshMs);
    token = (await auth.refreshTokens.rotate(token, {})).refreshToken;
    expect(await lastActive()).toBe(clock.now().getTime());
  });

  test("a token unused for the refresh idle time is refused even while its session lives", async () => {
    const { sessionToken, refreshToken } = await startFamily();
    // Keep the session alive by other means (cookie requests) for two days.
    for (let elapsed = 0; elapsed < config.tokens.refreshIdleMs; elapsed += 12 * HOUR) {
      clock.advance(12 * HOUR);
      expect((await auth.sessions.validate(sessionToken)).reason).toBeNull();
    }
    await expect(auth.refreshTokens.rotate(refreshToken, {})).rejects.toMatchObject(invalid);
  });

  test("a restricted session, a suspended user or an unknown token gets no refresh", async () => {
    const restricted = await startFamily({ restriction: "mfa_enrolment" });
    await expect(auth.refreshTokens.rotate(restricted.refreshToken, {})).rejects.toMatchObject(invalid);
    const suspended = await startFamily();
    await handle.db.update(users).set({ status: "suspended" }).where(eq(users.id, suspended.userId));
    await expect(auth.refreshTokens.rotate(suspended.refreshToken, {})).rejects.toMatchObject(invalid);
    await expect(auth.refreshTokens.rotate("A".repeat(43), {})).rejects.toMatchObject(invalid);
    await expect(auth.refreshTokens.rotate("not a token", {})).rejects.toMatchObject(invalid);
  });

  test("revoke ends the family and its session; an unknown token is answered the same", async () => {
    const { sessionToken, refreshToken } = await startFamily();
    const rotated = await auth.refreshTokens.rotate(refreshToken, {});
    await auth.refreshTokens.revoke(rotated.refreshToken, {});
    expect((await family(rotated.familyId)).revokedReason).toBe("revoked_by_client");
    expect((await auth.sessions.validate(sessionToken)).reason).toBe("revoked");
    await expect(auth.refreshTokens.rotate(rotated.refreshToken, {})).rejects.toMatchObject(invalid);
    await expect(auth.refreshTokens.revoke("B".repeat(43), {})).resolves.toBeUndefined();
  });
});

describe("refresh grant", () => {
  test("the access token's claims are asked for beside the rotation's write, not after it", async () => {
    let asked = () => {};
    const { handle, auth, clock } = await createTestAuth({
      env,
      access: {
        claims: async () => {
          asked();
          return { probe: "claims" };
        },
      },
    });
    try {
      const userId = newId("user") as UserId;
      await handle.db.insert(users).values({
        id: userId,
        email: "grant@example.com",
        emailNormalized: "grant@example.com",
        createdAt: clock.now(),
        updatedAt: clock.now(),
      });
      const { session } = await auth.sessions.create(handle.db, { userId, methods: ["password"], request: {} });
      const first = await auth.refreshTokens.start(handle.db, { sessionId: session.id, userId });
      // Rotated here once: its successor is known to this node, so nothing is read before the write.
      const second = (await auth.accessTokens.refreshGrant(first, {})).refreshToken!;

      // The successor's row held: the rotation's write waits for this transaction, which waits for
      // the claims to be asked for. Asked for only after the write, they never would be.
      const claimsAsked = new Promise<void>((resolve) => {
        asked = resolve;
      });
      const { granted } = await handle.db.transaction(async (tx) => {
        await tx
          .select({ id: refreshTokens.id })
          .from(refreshTokens)
          .where(eq(refreshTokens.tokenHash, secretHash(second)!))
          .for("update");
        const granted = auth.accessTokens.refreshGrant(second, {});
        await claimsAsked;
        return { granted };
      });
      const answer = await granted;
      expect(answer.refreshToken).toBeString();
      const [, payload] = answer.accessToken.split(".");
      expect(JSON.parse(Buffer.from(payload!, "base64url").toString())).toMatchObject({ probe: "claims", sub: userId });
      expect(
        (
          await handle.db
            .select()
            .from(refreshTokens)
            .where(eq(refreshTokens.tokenHash, secretHash(second)!))
        )[0]?.rotatedAt,
      ).not.toBeNull();
    } finally {
      await handle.close();
    }
  });
});
