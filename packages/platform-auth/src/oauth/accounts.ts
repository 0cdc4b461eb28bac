import { and, eq, ne } from "drizzle-orm";
import {
  isUniqueViolation,
  newId,
  PlatformError,
  type Database,
  type KeyRing,
  type RequestContext,
  type UserId,
} from "@burrow/platform-core";
import type { AuthContext } from "../context.ts";
import type { EmailFlows } from "../flows/email-flows.ts";
import { oauthAccounts, users } from "../schema.ts";
import type { SessionRow, Sessions } from "../sessions/sessions.ts";
import type { Accounts } from "../sign-in/accounts.ts";
import type { Factors } from "../mfa/factors.ts";
import { normalizeEmail, type Users } from "../users/users.ts";

/** Who a provider says the user is. */
export interface ProviderIdentity {
  provider: string;
  subject: string;
  email: string | null;
  /** The provider's own `email_verified`. */
  emailVerified: boolean;
  /** Whether this provider is trusted to verify addresses (its `trustEmail`). */
  trusted: boolean;
  profile: Record<string, unknown>;
  accessToken: string;
  refreshToken: string | null;
}

/** A linked provider account as its user sees it: no tokens. */
export interface PublicLinkedAccount {
  id: string;
  provider: string;
  email: string | null;
  emailVerified: boolean;
  profile: Record<string, unknown>;
  createdAt: string;
  lastSignInAt: string | null;
}

export interface LinkedAccounts {
  /**
   * The user a provider identity signs in as. Its key is (provider, subject). A new identity becomes a
   * new user, or joins the user with its address only when the provider verified the address and is
   * trusted to — otherwise 409 `oauth_link_required`. Joining an account whose address was never
   * proven is that address's first proof (a pre-registered password and its sessions go).
   */
  resolve(tx: Database, identity: ProviderIdentity, request: RequestContext): Promise<string>;
  /** Links the identity to a signed-in user (409 `oauth_account_taken` when another user has it). */
  link(tx: Database, userId: string, identity: ProviderIdentity, request: RequestContext): Promise<void>;
  list(db: Database, userId: string): Promise<PublicLinkedAccount[]>;
  /**
   * Unlinks one of the caller's accounts, unless it is their last way to sign in (409
   * `last_sign_in_method`). Like every change to how one signs in, it needs a recent authentication.
   */
  unlink(session: SessionRow, accountId: string, request: RequestContext): Promise<void>;
}

export function createLinkedAccounts(
  context: AuthContext,
  parts: {
    keyRing: KeyRing;
    users: Users;
    accounts: Accounts;
    factors: Factors;
    flows: EmailFlows;
    sessions: Pick<Sessions, "assertRecent">;
  },
): LinkedAccounts {
  const { db, clock, audit } = context;
  const { keyRing } = parts;
  const tokenAad = (provider: string, subject: string, kind: string) => `oauth-account:${provider}:${subject}:${kind}`;

  function sealed(identity: ProviderIdentity) {
    return {
      accessTokenEncrypted: keyRing.encrypt(
        identity.accessToken,
        tokenAad(identity.provider, identity.subject, "access"),
      ),
      refreshTokenEncrypted:
        identity.refreshToken === null
          ? null
          : keyRing.encrypt(identity.refreshToken, tokenAad(identity.provider, identity.subject, "refresh")),
    };
  }

  async function findLinked(tx: Database, identity: ProviderIdentity) {
    const [row] = await tx
      .select()
      .from(oauthAccounts)
      .where(and(eq(oauthAccounts.provider, identity.provider), eq(oauthAccounts.subject, identity.subject)));
    return row;
  }

  async function insertLink(
    tx: Database,
    userId: string,
    identity: ProviderIdentity,
    request: RequestContext,
    how: string,
  ): Promise<void> {
    const now = clock.now();
    const [row] = await tx
      .insert(oauthAccounts)
      .values({
        id: newId("oauthAccount", now.getTime()),
        provider: identity.provider,
        subject: identity.subject,
        userId,
        email: identity.email,
        emailVerified: identity.emailVerified,
        profile: identity.profile,
        ...sealed(identity),
        createdAt: now,
        updatedAt: now,
        lastSignInAt: how === "user" ? null : now,
      })
      .returning({ id: oauthAccounts.id });
    await audit.recordByUser(tx, userId, "oauth.account_linked", request, {
      metadata: { provider: identity.provider, accountId: row!.id, how },
    });
  }

  async function refresh(tx: Database, id: string, identity: ProviderIdentity): Promise<void> {
    const now = clock.now();
    await tx
      .update(oauthAccounts)
      .set({
        email: identity.email,
        emailVerified: identity.emailVerified,
        profile: identity.profile,
        ...sealed(identity),
        updatedAt: now,
        lastSignInAt: now,
      })
      .where(eq(oauthAccounts.id, id));
  }

  /**
   * `work` in a savepoint, and once more if its insert lost a race: another login of the same
   * provider account (a second tab), or a sign-up for its address, committed the row first (the
   * unique index held this insert until then). The second time reads what the winner wrote.
   */
  async function settled<T>(tx: Database, work: (tx: Database) => Promise<T>): Promise<T> {
    try {
      return await tx.transaction(work);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return work(tx);
    }
  }

  async function resolve(tx: Database, identity: ProviderIdentity, request: RequestContext): Promise<string> {
    const linked = await findLinked(tx, identity);
    if (linked !== undefined) {
      await refresh(tx, linked.id, identity);
      return linked.userId;
    }
    if (identity.email === null)
      throw new PlatformError("oauth_failed", { detail: "The provider shared no email address." });
    const vouched = identity.emailVerified && identity.trusted;
    const existing = await parts.users.claimAddress(tx, identity.email);
    if (existing === undefined) {
      const user = await parts.users.insert(tx, {
        email: identity.email,
        name: typeof identity.profile.name === "string" ? identity.profile.name : null,
        emailVerified: vouched,
      });
      await audit.recordByUser(tx, user.id, "user.signed_up", request, {
        metadata: { method: `oauth:${identity.provider}` },
      });
      await insertLink(tx, user.id, identity, request, "first_login");
      return user.id;
    }
    // An address a provider did not vouch for proves nothing about who owns the account.
    if (!vouched) throw new PlatformError("oauth_link_required");
    // Pre-registration takeover: a password set before the address was ever proven may be an
    // impostor's. The provider's proof is the first one: that password and its sessions go.
    // Only the account's primary address is proven this way: a match on another address the
    // account added proves nothing about its primary one.
    if (normalizeEmail(identity.email) === existing.emailNormalized)
      await parts.flows.proveAddress(tx, existing, request);
    await insertLink(tx, existing.id, identity, request, "verified_address");
    return existing.id;
  }

  async function link(
    tx: Database,
    userId: string,
    identity: ProviderIdentity,
    request: RequestContext,
  ): Promise<void> {
    const linked = await findLinked(tx, identity);
    if (linked !== undefined) {
      if (linked.userId !== userId) throw new PlatformError("oauth_account_taken");
      await refresh(tx, linked.id, identity);
      return;
    }
    await insertLink(tx, userId, identity, request, "user");
  }

  return {
    resolve: (tx, identity, request) => settled(tx, (savepoint) => resolve(savepoint, identity, request)),

    link: (tx, userId, identity, request) => settled(tx, (savepoint) => link(savepoint, userId, identity, request)),

    async list(database, userId) {
      const rows = await database
        .select()
        .from(oauthAccounts)
        .where(eq(oauthAccounts.userId, userId))
        .orderBy(oauthAccounts.createdAt, oauthAccounts.id);
      return rows.map((row) => ({
        id: row.id,
        provider: row.provider,
        email: row.email,
        emailVerified: row.emailVerified,
        profile: row.profile,
        createdAt: row.createdAt.toISOString(),
        lastSignInAt: row.lastSignInAt?.toISOString() ?? null,
      }));
    },

    async unlink(session, accountId, request) {
      parts.sessions.assertRecent(session);
      await db.transaction(async (tx) => {
        // The user's row is locked so two unlinks at once cannot each see the other as the way left.
        await tx.select({ id: users.id }).from(users).where(eq(users.id, session.userId)).for("update");
        const [row] = await tx
          .select()
          .from(oauthAccounts)
          .where(and(eq(oauthAccounts.id, accountId), eq(oauthAccounts.userId, session.userId)));
        if (row === undefined) throw new PlatformError("not_found");
        const others = await tx
          .select({ id: oauthAccounts.id })
          .from(oauthAccounts)
          .where(and(eq(oauthAccounts.userId, session.userId), ne(oauthAccounts.id, row.id)));
        const hasPassword = (await parts.accounts.passwordHash(tx, session.userId as UserId)) !== undefined;
        const hasPasskey = (await parts.factors.methods(tx, session.userId)).includes("passkey");
        if (others.length === 0 && !hasPassword && !hasPasskey) throw new PlatformError("last_sign_in_method");
        await tx.delete(oauthAccounts).where(eq(oauthAccounts.id, row.id));
        await audit.recordByUser(tx, session.userId, "oauth.account_unlinked", request, {
          metadata: { provider: row.provider, accountId: row.id },
        });
      });
    },
  };
}
