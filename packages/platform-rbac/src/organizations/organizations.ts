import { and, asc, eq, gt, ilike, isNull, or, sql } from "drizzle-orm";
import {
  isUniqueViolation,
  newId,
  PlatformError,
  type AuditLog,
  type Clock,
  type Database,
  type RequestContext,
} from "@burrow/platform-core";
import { assertRecentAuthentication, lockUser, type UserDeletion } from "@burrow/platform-auth";
import { users } from "@burrow/platform-auth/schema";
import { coversAll } from "../access/permissions.ts";
import type { PermissionResolver } from "../access/resolver.ts";
import { organizationMemberships, organizations, rolePermissions, roles } from "../schema.ts";
import { withdrawElevations } from "../elevations/withdrawals.ts";

export type OrganizationRow = typeof organizations.$inferSelect;

export interface Member {
  userId: string;
  email: string;
  name: string | null;
  role: string;
  joinedAt: Date;
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/;
/** Slugs that would collide with product paths or impersonate the operator. */
const RESERVED_SLUGS = new Set([
  "admin",
  "api",
  "app",
  "auth",
  "burrow",
  "dashboard",
  "help",
  "login",
  "me",
  "new",
  "root",
  "settings",
  "signup",
  "support",
  "system",
  "www",
]);

export function slugFromName(name: string): string {
  const base = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/g, "");
  return base.length >= 2 ? base : `org-${base}`.replace(/-$/, "");
}

/**
 * An organization role by key: a built-in one, or a custom role of this organization (never another
 * organization's), with its permissions. 400 when there is none.
 */
export async function findOrgRole(
  tx: Database,
  key: string,
  orgId: string,
): Promise<{ id: string; key: string; permissions: string[] }> {
  const rows = await tx
    .select({ id: roles.id, key: roles.key, permission: rolePermissions.permission })
    .from(roles)
    .leftJoin(rolePermissions, eq(rolePermissions.roleId, roles.id))
    .where(
      and(
        eq(roles.key, key),
        eq(roles.scope, "organization"),
        sql`(${roles.orgId} is null or ${roles.orgId} = ${orgId})`,
      ),
    );
  if (rows.length === 0)
    throw new PlatformError("validation_failed", { errors: [{ path: "role", message: `There is no role ${key}` }] });
  return {
    id: rows[0]!.id,
    key,
    permissions: rows.map((row) => row.permission).filter((permission): permission is string => permission !== null),
  };
}

/**
 * Locks the organization's row until the transaction ends: every transaction that changes its
 * memberships (or who may elevate in it) starts here, so rules that read then write — "an owner
 * remains" — see each other's commits instead of racing. False when it does not exist (or is deleted).
 */
export async function lockOrganization(tx: Database, orgId: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: organizations.id })
    .from(organizations)
    .where(and(eq(organizations.id, orgId), isNull(organizations.deletedAt)))
    .for("update");
  return row !== undefined;
}

export interface Organizations {
  /** Creates an organization; the creator becomes its owner. */
  create(
    actorId: string,
    input: { name: string; slug?: string; logoUrl?: string | null; metadata?: Record<string, unknown> },
    request: RequestContext,
  ): Promise<OrganizationRow>;
  listMine(db: Database, userId: string): Promise<(OrganizationRow & { role: string })[]>;
  /**
   * Every live organization, for operators (the platform permission `org:read`): by id exactly, or
   * part of the name or slug; in id order, `limit` (1–200, 50) a page, with each one's member count.
   */
  search(
    actorId: string,
    search: { query?: string; cursor?: string; limit?: number },
  ): Promise<{ data: (OrganizationRow & { members: number })[]; nextCursor: string | null }>;
  /** The organization, if the actor may read it; 404 otherwise (its existence is not confirmed). */
  get(actorId: string, orgId: string): Promise<OrganizationRow>;
  /**
   * The one authorization check of every organization-scoped service: 404 when the actor may not even
   * read the organization, 403 (audited as `permission.denied`) when they lack `permission`.
   */
  authorize(actorId: string, orgId: string, permission: string): Promise<OrganizationRow>;
  update(
    actorId: string,
    orgId: string,
    changes: { name?: string; slug?: string; logoUrl?: string | null; metadata?: Record<string, unknown> },
    request: RequestContext,
  ): Promise<OrganizationRow>;
  /** Needs `org:delete` (checked first, so outsiders learn nothing more) and a recent authentication on the caller's session. */
  remove(caller: { userId: string; authenticatedAt: Date }, orgId: string, request: RequestContext): Promise<void>;
  members(actorId: string, orgId: string): Promise<Member[]>;
  changeRole(actorId: string, orgId: string, userId: string, roleKey: string, request: RequestContext): Promise<void>;
  removeMember(actorId: string, orgId: string, userId: string, request: RequestContext): Promise<void>;
  transferOwnership(actorId: string, orgId: string, userId: string, request: RequestContext): Promise<void>;
  /**
   * An account's deletion, in its transaction with the account locked: each of its organizations locked
   * (in id order) until it ends; refused (409 `last_owner`, naming them) when it is the only owner of
   * any, else its memberships end, each audited (`member.left`, or `member.removed` by an operator).
   */
  endMembershipsOf(tx: Database, userId: string, deletion: UserDeletion): Promise<void>;
}

export function createOrganizations(options: {
  db: Database;
  clock: Clock;
  audit: AuditLog;
  resolver: PermissionResolver;
}): Organizations {
  const { db, clock, audit, resolver } = options;
  const actor = (id: string) => ({ type: "user", id }) as const;

  async function live(tx: Database, orgId: string): Promise<OrganizationRow | undefined> {
    const [row] = await tx
      .select()
      .from(organizations)
      .where(and(eq(organizations.id, orgId), isNull(organizations.deletedAt)));
    return row;
  }

  /** 404 when the actor may not even read the organization; 403 when they may read but not do this. */
  async function authorize(actorId: string, orgId: string, permission: string): Promise<OrganizationRow> {
    const org = await live(db, orgId);
    if (org === undefined || !(await resolver.can(actorId, "org:read", { orgId })))
      throw new PlatformError("not_found");
    if (!(await resolver.can(actorId, permission, { orgId }))) {
      await audit.record(db, {
        action: "permission.denied",
        actor: actor(actorId),
        target: { type: "organization", id: orgId },
        orgId,
        outcome: "denied",
        metadata: { permission },
      });
      throw new PlatformError("forbidden", { detail: `This needs the ${permission} permission.` });
    }
    return org;
  }

  /** The organization's owners whose accounts are not deleted (a deleted account's membership stays). */
  async function owners(tx: Database, orgId: string): Promise<string[]> {
    const rows = await tx
      .select({ userId: organizationMemberships.userId })
      .from(organizationMemberships)
      .innerJoin(roles, eq(roles.id, organizationMemberships.roleId))
      .innerJoin(users, and(eq(users.id, organizationMemberships.userId), isNull(users.deletedAt)))
      .where(and(eq(organizationMemberships.orgId, orgId), eq(roles.key, "owner")));
    return rows.map((row) => row.userId);
  }

  async function membership(tx: Database, orgId: string, userId: string) {
    const [row] = await tx
      .select({ roleKey: roles.key, roleId: roles.id })
      .from(organizationMemberships)
      .innerJoin(roles, eq(roles.id, organizationMemberships.roleId))
      .where(and(eq(organizationMemberships.orgId, orgId), eq(organizationMemberships.userId, userId)));
    return row;
  }

  /**
   * The one rule for every change to an owner's membership — a demotion or a removal, by anyone,
   * leaving included: the organization keeps an owner, and only an owner acts on another owner.
   * Call with the organization locked.
   */
  async function assertOwnerChange(
    tx: Database,
    actorId: string,
    orgId: string,
    userId: string,
    currentRole: string,
    nextRole: string | null,
  ): Promise<void> {
    if (currentRole !== "owner" || nextRole === "owner") return;
    if ((await owners(tx, orgId)).every((owner) => owner === userId)) throw new PlatformError("last_owner");
    // The actor's membership as it stands now (under the lock), not a cached permission set.
    if (userId !== actorId && (await membership(tx, orgId, actorId))?.roleKey !== "owner")
      throw new PlatformError("forbidden", { detail: "Only an owner can change or remove an owner." });
  }

  /** 400 for a slug that is malformed or reserved. */
  function assertSlug(wanted: string): void {
    if (!SLUG.test(wanted))
      throw new PlatformError("validation_failed", {
        errors: [
          { path: "slug", message: "2–48 lower-case letters, digits and dashes, not starting or ending with a dash" },
        ],
      });
    if (RESERVED_SLUGS.has(wanted))
      throw new PlatformError("validation_failed", { errors: [{ path: "slug", message: `${wanted} is reserved` }] });
  }

  /** The slugs to try in turn: an explicit one only; one from the name, then `-2` … `-20`, then a random suffix. */
  function slugCandidates(wanted: string, explicit: boolean): string[] {
    if (explicit) return [wanted];
    const numbered = Array.from({ length: 19 }, (_, index) => `${wanted.slice(0, 44)}-${index + 2}`);
    return [wanted, ...numbered, `${wanted.slice(0, 38)}-${crypto.randomUUID().slice(0, 8)}`];
  }

  return {
    async endMembershipsOf(tx, userId, deletion) {
      // Its organizations as they stand before they are locked; what counts is read again under each
      // lock (a role changed, a membership ended or an organization deleted meanwhile). None is added
      // meanwhile: joining or founding one takes the account's lock first, as this deletion has.
      const candidates = await tx
        .select({ id: organizations.id, name: organizations.name, slug: organizations.slug })
        .from(organizationMemberships)
        .innerJoin(
          organizations,
          and(eq(organizations.id, organizationMemberships.orgId), isNull(organizations.deletedAt)),
        )
        .where(eq(organizationMemberships.userId, userId))
        .orderBy(asc(organizations.id));
      const held: typeof candidates = [];
      const alone: typeof candidates = [];
      for (const org of candidates) {
        // Under the organization's lock, as every change to its memberships: an owner leaving, or
        // ownership handed to this account, at the same moment is seen, or sees this deletion.
        if (!(await lockOrganization(tx, org.id))) continue;
        const current = await membership(tx, org.id, userId);
        if (current === undefined) continue;
        held.push(org);
        if (current.roleKey === "owner" && (await owners(tx, org.id)).every((owner) => owner === userId))
          alone.push(org);
      }
      if (alone.length > 0) {
        const names = alone.map((org) => `${org.name} (${org.slug})`).join(", ");
        throw new PlatformError("last_owner", {
          detail: `The account is the only owner of ${names}. Make another member an owner, or delete the organization, first.`,
          extensions: { organizations: alone },
        });
      }
      for (const org of held) {
        await tx
          .delete(organizationMemberships)
          .where(and(eq(organizationMemberships.orgId, org.id), eq(organizationMemberships.userId, userId)));
        await audit.record(
          tx,
          {
            action: deletion.actor === userId ? "member.left" : "member.removed",
            actor: deletion.actor === "system" ? { type: "system" } : actor(deletion.actor),
            target: { type: "user", id: userId },
            orgId: org.id,
            metadata: { reason: "account_deleted" },
          },
          deletion.request,
        );
      }
      if (held.length > 0) await resolver.changed(tx, userId);
    },

    async create(actorId, input, request) {
      const wanted = input.slug ?? slugFromName(input.name);
      assertSlug(wanted);
      return db.transaction(async (tx) => {
        // The founder's account first (the lock order): an organization is never founded by an account
        // whose deletion is under way, which would leave it owned by a deleted account.
        if ((await lockUser(tx, actorId)) === undefined) throw new PlatformError("unauthenticated");
        const now = clock.now();
        let org: OrganizationRow | undefined;
        for (const candidate of slugCandidates(wanted, input.slug !== undefined)) {
          // The unique index decides, not an earlier read: two creations racing for one slug both pass
          // any check, and the loser's insert waits for the winner, then does nothing (no error that
          // would abort the transaction), so it goes on to the next candidate or answers slug_taken.
          [org] = await tx
            .insert(organizations)
            .values({
              id: newId("organization", now.getTime()),
              name: input.name,
              slug: candidate,
              logoUrl: input.logoUrl ?? null,
              metadata: input.metadata ?? {},
              createdBy: actorId,
              createdAt: now,
              updatedAt: now,
            })
            .onConflictDoNothing({ target: organizations.slug, where: sql`deleted_at is null` })
            .returning();
          if (org !== undefined) break;
        }
        if (org === undefined) throw new PlatformError("slug_taken");
        const { slug } = org;
        const owner = await findOrgRole(tx, "owner", org.id);
        await tx
          .insert(organizationMemberships)
          .values({ orgId: org.id, userId: actorId, roleId: owner.id, joinedAt: now });
        await audit.record(
          tx,
          {
            action: "organization.created",
            actor: actor(actorId),
            target: { type: "organization", id: org.id },
            orgId: org.id,
            metadata: { slug },
          },
          request,
        );
        await resolver.changed(tx, actorId);
        return org;
      });
    },

    async search(actorId, search) {
      if (!(await resolver.can(actorId, "org:read")))
        throw new PlatformError("forbidden", { detail: "This needs the platform permission org:read." });
      const limit = Math.min(Math.max(search.limit ?? 50, 1), 200);
      const conditions = [isNull(organizations.deletedAt)];
      const query = search.query?.trim();
      if (query !== undefined && query !== "") {
        const pattern = `%${query.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
        conditions.push(
          or(eq(organizations.id, query), ilike(organizations.name, pattern), ilike(organizations.slug, pattern))!,
        );
      }
      if (search.cursor !== undefined) conditions.push(gt(organizations.id, search.cursor));
      const rows = await db
        .select({
          org: organizations,
          members: sql<
            number | string
          >`(select count(*) from ${organizationMemberships} where ${organizationMemberships.orgId} = ${organizations.id})`,
        })
        .from(organizations)
        .where(and(...conditions))
        .orderBy(asc(organizations.id))
        .limit(limit + 1);
      const page = rows.slice(0, limit).map((row) => ({ ...row.org, members: Number(row.members) }));
      return { data: page, nextCursor: rows.length > limit ? page.at(-1)!.id : null };
    },

    async listMine(tx, userId) {
      const rows = await tx
        .select({ org: organizations, role: roles.key })
        .from(organizationMemberships)
        .innerJoin(
          organizations,
          and(eq(organizations.id, organizationMemberships.orgId), isNull(organizations.deletedAt)),
        )
        .innerJoin(roles, eq(roles.id, organizationMemberships.roleId))
        .where(eq(organizationMemberships.userId, userId))
        .orderBy(asc(organizations.name));
      return rows.map((row) => ({ ...row.org, role: row.role }));
    },

    get: (actorId, orgId) => authorize(actorId, orgId, "org:read"),
    authorize,

    async update(actorId, orgId, changes, request) {
      await authorize(actorId, orgId, "org:update");
      if (changes.slug !== undefined) assertSlug(changes.slug);
      return db.transaction(async (tx) => {
        const set: Partial<OrganizationRow> = { updatedAt: clock.now() };
        if (changes.name !== undefined) set.name = changes.name;
        if (changes.slug !== undefined) set.slug = changes.slug;
        if (changes.logoUrl !== undefined) set.logoUrl = changes.logoUrl;
        if (changes.metadata !== undefined) set.metadata = changes.metadata;
        let row: OrganizationRow | undefined;
        try {
          [row] = await tx.update(organizations).set(set).where(eq(organizations.id, orgId)).returning();
        } catch (error) {
          // The slug's unique index is the one check that holds when two organizations ask for it at once.
          if (isUniqueViolation(error)) throw new PlatformError("slug_taken");
          throw error;
        }
        await audit.record(
          tx,
          {
            action: changes.name !== undefined ? "organization.renamed" : "organization.updated",
            actor: actor(actorId),
            target: { type: "organization", id: orgId },
            orgId,
            metadata: { fields: Object.keys(changes) },
          },
          request,
        );
        return row!;
      });
    },

    async remove(caller, orgId, request) {
      const actorId = caller.userId;
      await authorize(actorId, orgId, "org:delete");
      assertRecentAuthentication(caller, clock.now());
      await db.transaction(async (tx) => {
        if (!(await lockOrganization(tx, orgId))) throw new PlatformError("not_found");
        await tx.update(organizations).set({ deletedAt: clock.now() }).where(eq(organizations.id, orgId));
        await withdrawElevations(tx, { clock, audit }, { orgId }, actor(actorId), request);
        await audit.record(
          tx,
          { action: "organization.deleted", actor: actor(actorId), target: { type: "organization", id: orgId }, orgId },
          request,
        );
        await resolver.changed(tx, "*");
      });
    },

    async members(actorId, orgId) {
      await authorize(actorId, orgId, "members:read");
      const rows = await db
        .select({
          userId: users.id,
          email: users.email,
          name: users.name,
          role: roles.key,
          joinedAt: organizationMemberships.joinedAt,
        })
        .from(organizationMemberships)
        // A deleted account's memberships end with it; one the system removed (an unproven
        // pre-registration) may keep its row, and is no member all the same.
        .innerJoin(users, and(eq(users.id, organizationMemberships.userId), isNull(users.deletedAt)))
        .innerJoin(roles, eq(roles.id, organizationMemberships.roleId))
        .where(eq(organizationMemberships.orgId, orgId))
        .orderBy(asc(organizationMemberships.joinedAt));
      return rows;
    },

    async changeRole(actorId, orgId, userId, roleKey, request) {
      await authorize(actorId, orgId, "members:update");
      await db.transaction(async (tx) => {
        if (!(await lockOrganization(tx, orgId))) throw new PlatformError("not_found");
        const current = await membership(tx, orgId, userId);
        if (current === undefined) throw new PlatformError("not_found");
        const target = await findOrgRole(tx, roleKey, orgId);
        const held = [...(await resolver.resolve(actorId, orgId, tx)).patterns];
        // Nobody grants what they do not hold, and nobody raises their own role.
        if (!coversAll(held, target.permissions))
          throw new PlatformError("forbidden", { detail: `You cannot grant the ${roleKey} role.` });
        if (
          userId === actorId &&
          current.roleKey !== roleKey &&
          !coversAll((await findOrgRole(tx, current.roleKey, orgId)).permissions, target.permissions)
        ) {
          throw new PlatformError("forbidden", { detail: "You cannot raise your own role." });
        }
        await assertOwnerChange(tx, actorId, orgId, userId, current.roleKey, roleKey);
        await tx
          .update(organizationMemberships)
          .set({ roleId: target.id })
          .where(and(eq(organizationMemberships.orgId, orgId), eq(organizationMemberships.userId, userId)));
        await audit.record(
          tx,
          {
            action: "member.role_changed",
            actor: actor(actorId),
            target: { type: "user", id: userId },
            orgId,
            metadata: { from: current.roleKey, to: roleKey },
          },
          request,
        );
        await resolver.changed(tx, userId);
      });
    },

    async removeMember(actorId, orgId, userId, request) {
      // Leaving is always allowed (but for the last owner); removing someone else needs members:remove.
      if (userId !== actorId) await authorize(actorId, orgId, "members:remove");
      else if ((await live(db, orgId)) === undefined) throw new PlatformError("not_found");
      await db.transaction(async (tx) => {
        if (!(await lockOrganization(tx, orgId))) throw new PlatformError("not_found");
        const current = await membership(tx, orgId, userId);
        if (current === undefined) throw new PlatformError("not_found");
        await assertOwnerChange(tx, actorId, orgId, userId, current.roleKey, null);
        await tx
          .delete(organizationMemberships)
          .where(and(eq(organizationMemberships.orgId, orgId), eq(organizationMemberships.userId, userId)));
        // A way back in is part of the membership: it ends with it.
        await withdrawElevations(tx, { clock, audit }, { userId, orgId }, actor(actorId), request);
        await audit.record(
          tx,
          {
            action: userId === actorId ? "member.left" : "member.removed",
            actor: actor(actorId),
            target: { type: "user", id: userId },
            orgId,
          },
          request,
        );
        await resolver.changed(tx, userId);
      });
    },

    async transferOwnership(actorId, orgId, userId, request) {
      await authorize(actorId, orgId, "org:transfer");
      await db.transaction(async (tx) => {
        if (!(await lockOrganization(tx, orgId))) throw new PlatformError("not_found");
        if ((await membership(tx, orgId, actorId))?.roleKey !== "owner")
          throw new PlatformError("forbidden", { detail: "Only an owner can transfer ownership." });
        const target = await membership(tx, orgId, userId);
        if (target === undefined) throw new PlatformError("not_found");
        const owner = await findOrgRole(tx, "owner", orgId);
        const admin = await findOrgRole(tx, "admin", orgId);
        await tx
          .update(organizationMemberships)
          .set({ roleId: owner.id })
          .where(and(eq(organizationMemberships.orgId, orgId), eq(organizationMemberships.userId, userId)));
        if (userId !== actorId)
          await tx
            .update(organizationMemberships)
            .set({ roleId: admin.id })
            .where(and(eq(organizationMemberships.orgId, orgId), eq(organizationMemberships.userId, actorId)));
        await audit.record(
          tx,
          {
            action: "organization.ownership_transferred",
            actor: actor(actorId),
            target: { type: "user", id: userId },
            orgId,
          },
          request,
        );
        await resolver.changed(tx, userId);
        await resolver.changed(tx, actorId);
      });
    },
  };
}
