import { and, desc, eq, isNull } from "drizzle-orm";
import {
  consumeRateLimit,
  constantTimeEqual,
  isId,
  newId,
  PlatformError,
  randomToken,
  sha256,
  type AuditLog,
  type Clock,
  type Config,
  type Database,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import { apiKeys, users } from "../schema.ts";
import type { SessionRow, Sessions } from "../sessions/sessions.ts";
import { lockUser, toPublicUser, type PublicUser } from "../users/users.ts";

export type ApiKeyRow = typeof apiKeys.$inferSelect;

/** Scopes are `resource:action`, with `*` as a wildcard action or alone. */
export const SCOPE = /^(\*|[a-z][a-z0-9_-]*:(\*|[a-z][a-z0-9_-]*))$/;

/** What a user may put on a key when no authorization package says more: their own profile. */
export const DEFAULT_USER_SCOPES = ["profile:read", "profile:write"];

/** True when `held` (patterns such as `projects:*` or `*`) covers `scope`. */
export function scopeCovers(held: readonly string[], scope: string): boolean {
  const [resource] = scope.split(":");
  return held.some((pattern) => pattern === "*" || pattern === scope || pattern === `${resource}:*`);
}

/**
 * The scopes a key may use now: its own, narrowed to what its owner holds now. A key made during an
 * elevation, or before a role was taken away, loses what its owner lost.
 */
export function effectiveScopes(keyScopes: readonly string[], held: readonly string[]): string[] {
  const effective = new Set<string>();
  for (const scope of keyScopes) {
    if (scopeCovers(held, scope)) effective.add(scope);
    // A wide key scope (`*`, `users:*`) keeps only the narrower patterns the owner still holds.
    else for (const pattern of held) if (scopeCovers([scope], pattern)) effective.add(pattern);
  }
  return [...effective];
}

/** How a key authenticates: the owning user and the key (its `scopes` are the effective ones). */
export interface ApiKeyCaller {
  user: PublicUser;
  key: ApiKeyRow;
}

export interface ApiKeys {
  /** Creates a key; the secret `bk_<id>_<secret>` is returned this once only. */
  /** Needs a recent authentication on the caller's session (step-up). */
  create(
    session: SessionRow,
    input: { name: string; scopes: string[]; expiresAt?: Date | null },
    request: RequestContext,
  ): Promise<{ key: ApiKeyRow; secret: string }>;
  list(db: Database, userId: UserId): Promise<ApiKeyRow[]>;
  /** Revokes one of the user's keys; `operatorId` when an operator does it (the audit entry names them). */
  revoke(userId: UserId, keyId: string, request: RequestContext, operatorId?: string): Promise<void>;
  /** Revokes every live key the user owns; returns how many. */
  revokeAllFor(db: Database, userId: UserId): Promise<number>;
  /** Checks a presented key; undefined for anything not valid right now. Applies the key's rate limit. */
  authenticate(secret: string, request: RequestContext): Promise<ApiKeyCaller | undefined>;
}

const KEY = /^bk_(key_[0-9a-z]{26})_([A-Za-z0-9_-]{43})$/;
/**
 * What the list shows to tell keys apart: the first 8 characters of the random secret (the part after
 * `bk_<id>_`), as Stripe and GitHub show part of theirs. 48 of 256 bits: the rest still cannot be guessed.
 */
const displayPrefix = (secretPart: string): string => secretPart.slice(0, 8);
/** Last use is written at most once a minute: a busy key must not write on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export function createApiKeys(options: {
  db: Database;
  config: Config;
  clock: Clock;
  audit: AuditLog;
  sessions: Sessions;
  grantableScopes: (userId: UserId) => Promise<string[]>;
}): ApiKeys {
  const { db, clock, audit, config } = options;

  return {
    async create(session, input, request) {
      // Minting a credential that outlives the session is a sensitive change: step-up first.
      options.sessions.assertRecent(session);
      const userId = session.userId as UserId;
      const invalid = input.scopes.filter((scope) => !SCOPE.test(scope));
      if (invalid.length > 0)
        throw new PlatformError("validation_failed", {
          errors: invalid.map((scope) => ({ path: "scopes", message: `${scope} is not a scope (resource:action)` })),
        });
      // Nobody hands a key more than they hold themselves.
      const held = await options.grantableScopes(userId);
      const beyond = input.scopes.filter((scope) => !scopeCovers(held, scope));
      if (beyond.length > 0)
        throw new PlatformError("forbidden", {
          detail: `You cannot grant scopes you do not hold: ${beyond.join(", ")}.`,
        });
      if (input.expiresAt != null && input.expiresAt <= clock.now())
        throw new PlatformError("validation_failed", {
          errors: [{ path: "expiresAt", message: "Must be in the future" }],
        });
      const now = clock.now();
      const id = newId("apiKey", now.getTime());
      const secretPart = randomToken(32);
      const secret = `bk_${id}_${secretPart}`;
      const key = await db.transaction(async (tx) => {
        // The owner's lock, taken as the account's deletion takes it: a key is never made for an
        // account deleted at the same moment (the request was authenticated just before).
        if ((await lockUser(tx, userId)) === undefined) throw new PlatformError("unauthenticated");
        const [row] = await tx
          .insert(apiKeys)
          .values({
            id,
            name: input.name,
            ownerType: "user",
            ownerId: userId,
            createdBy: userId,
            scopes: [...new Set(input.scopes)],
            secretHash: sha256(secretPart),
            prefix: displayPrefix(secretPart),
            expiresAt: input.expiresAt ?? null,
            createdAt: now,
          })
          .returning();
        await audit.record(
          tx,
          {
            action: "api_key.created",
            actor: { type: "user", id: userId },
            target: { type: "api_key", id },
            metadata: {
              name: input.name,
              scopes: input.scopes,
              // Beyond the owner's own profile: a security event for operators (SECURITY_EVENT_RULES).
              platformScopes: input.scopes.some((scope) => !DEFAULT_USER_SCOPES.includes(scope)),
            },
          },
          request,
        );
        return row!;
      });
      return { key, secret };
    },

    list: (tx, userId) =>
      tx
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.ownerType, "user"), eq(apiKeys.ownerId, userId)))
        .orderBy(desc(apiKeys.createdAt)),

    async revoke(userId, keyId, request, operatorId) {
      const revoked = await db.transaction(async (tx) => {
        const rows = await tx
          .update(apiKeys)
          .set({ revokedAt: clock.now() })
          .where(
            and(
              eq(apiKeys.id, keyId),
              eq(apiKeys.ownerType, "user"),
              eq(apiKeys.ownerId, userId),
              isNull(apiKeys.revokedAt),
            ),
          )
          .returning({ id: apiKeys.id });
        if (rows.length > 0)
          await audit.record(
            tx,
            {
              action: "api_key.revoked",
              actor: { type: "user", id: operatorId ?? userId },
              target: { type: "api_key", id: keyId },
            },
            request,
          );
        return rows.length;
      });
      if (revoked === 0) throw new PlatformError("not_found");
    },

    async revokeAllFor(tx, userId) {
      const rows = await tx
        .update(apiKeys)
        .set({ revokedAt: clock.now() })
        .where(and(eq(apiKeys.ownerType, "user"), eq(apiKeys.ownerId, userId), isNull(apiKeys.revokedAt)))
        .returning({ id: apiKeys.id });
      return rows.length;
    },

    async authenticate(secret, request) {
      const match = KEY.exec(secret);
      if (match === null || !isId("apiKey", match[1])) return undefined;
      const [row] = await db
        .select({ key: apiKeys, user: users })
        .from(apiKeys)
        .innerJoin(users, eq(users.id, apiKeys.createdBy))
        .where(eq(apiKeys.id, match[1]));
      if (row === undefined || !constantTimeEqual(row.key.secretHash, sha256(match[2]!))) return undefined;
      const now = clock.now();
      if (
        row.key.revokedAt !== null ||
        (row.key.expiresAt !== null && now >= row.key.expiresAt) ||
        row.user.status !== "active"
      )
        return undefined;
      const limit = await consumeRateLimit(db, clock, `api-key:${row.key.id}`, config.tokens.apiKeyRateLimit);
      if (!limit.allowed)
        throw new PlatformError("rate_limited", {
          headers: { "Retry-After": String(Math.max(1, Math.ceil(limit.retryAfterMs / 1000))) },
        });
      if (row.key.lastUsedAt === null || now.getTime() - row.key.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
        await db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, row.key.id));
        if (row.key.lastUsedAt === null)
          await audit.record(
            db,
            {
              action: "api_key.first_used",
              actor: { type: "api_key", id: row.key.id },
              target: { type: "api_key", id: row.key.id },
            },
            request,
          );
        row.key.lastUsedAt = now;
      }
      return {
        user: toPublicUser(row.user),
        key: {
          ...row.key,
          scopes: effectiveScopes(row.key.scopes, await options.grantableScopes(row.user.id as UserId)),
        },
      };
    },
  };
}
