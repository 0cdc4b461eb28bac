import { and, asc, eq, gt, inArray, isNull, or } from "drizzle-orm";
import {
  newId,
  PlatformError,
  type AuditLog,
  type Clock,
  type Database,
  type RequestContext,
} from "@burrow/platform-core";
import {
  entitlementOverrides,
  features,
  planFeatures,
  plans,
  subscriptions,
  SUBSCRIPTION_STATUSES,
} from "../schema.ts";

export type Subject = { type: "user" | "organization"; id: string };
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export interface Entitlement {
  enabled: boolean;
  /** For limit features: the allowance (null: unlimited). */
  limit?: number | null;
}

export interface Entitlements {
  /** Defines (or redefines) a plan and the features it includes. */
  definePlan(input: {
    key: string;
    name: string;
    features: Record<string, { kind: "boolean" | "limit"; limit?: number | null; description?: string }>;
  }): Promise<void>;
  /** What a builder's billing webhook calls: the subject's subscription to a plan, and its state. */
  setSubscription(
    subject: Subject,
    input: { plan: string; status: SubscriptionStatus; trialEndsAt?: Date | null; periodEndsAt?: Date | null },
    request?: RequestContext,
  ): Promise<void>;
  addOverride(
    subject: Subject,
    input: {
      feature: string;
      effect: "grant" | "deny" | "limit";
      limit?: number | null;
      reason: string;
      expiresAt?: Date | null;
      createdBy?: string | null;
    },
    request?: RequestContext,
  ): Promise<string>;
  /** Removes an override; `removedBy` names the operator in the audit entry (the system otherwise). */
  removeOverride(overrideId: string, request?: RequestContext, removedBy?: string | null): Promise<void>;
  /** What a subject has: its subscription (if any), its overrides, and every feature that exists. */
  describe(subject: Subject): Promise<{
    subscription: {
      plan: string;
      planName: string;
      status: SubscriptionStatus;
      trialEndsAt: Date | null;
      periodEndsAt: Date | null;
    } | null;
    overrides: (typeof entitlementOverrides.$inferSelect)[];
    features: { key: string; kind: string; description: string | null }[];
  }>;
  /**
   * The user's and (when named) the organization's live subscriptions merged — a feature any plan
   * includes is on, the largest limit wins — then their overrides, with deny winning over everything.
   */
  resolve(input: { userId: string; orgId?: string | null }): Promise<Record<string, Entitlement>>;
}

export function createEntitlements(options: { db: Database; clock: Clock; audit: AuditLog }): Entitlements {
  const { db, clock, audit } = options;

  /** Trials count until they end; canceled and past-due subscriptions until the paid period ends. */
  function live(row: typeof subscriptions.$inferSelect, now: Date): boolean {
    if (row.status === "active") return true;
    if (row.status === "trialing") return row.trialEndsAt === null || now < row.trialEndsAt;
    return row.periodEndsAt !== null && now < row.periodEndsAt;
  }

  return {
    async definePlan(input) {
      await db.transaction(async (tx) => {
        const now = clock.now();
        await tx
          .insert(plans)
          .values({ id: newId("plan", now.getTime()), key: input.key, name: input.name, createdAt: now })
          .onConflictDoUpdate({ target: plans.key, set: { name: input.name } });
        const [plan] = await tx.select().from(plans).where(eq(plans.key, input.key));
        await tx.delete(planFeatures).where(eq(planFeatures.planId, plan!.id));
        for (const [key, feature] of Object.entries(input.features)) {
          await tx
            .insert(features)
            .values({ key, kind: feature.kind, description: feature.description ?? "" })
            .onConflictDoUpdate({ target: features.key, set: { kind: feature.kind } });
          await tx.insert(planFeatures).values({
            planId: plan!.id,
            featureKey: key,
            limitValue: feature.kind === "limit" ? (feature.limit ?? null) : null,
          });
        }
      });
    },

    async setSubscription(subject, input, request = {}) {
      const [plan] = await db.select().from(plans).where(eq(plans.key, input.plan));
      if (plan === undefined)
        throw new PlatformError("validation_failed", {
          errors: [{ path: "plan", message: `There is no plan ${input.plan}` }],
        });
      await db.transaction(async (tx) => {
        const now = clock.now();
        const values = {
          status: input.status,
          trialEndsAt: input.trialEndsAt ?? null,
          periodEndsAt: input.periodEndsAt ?? null,
          updatedAt: now,
        };
        await tx
          .insert(subscriptions)
          .values({
            id: newId("subscription", now.getTime()),
            subjectType: subject.type,
            subjectId: subject.id,
            planId: plan.id,
            createdAt: now,
            ...values,
          })
          .onConflictDoUpdate({
            target: [subscriptions.subjectType, subscriptions.subjectId, subscriptions.planId],
            set: values,
          });
        await audit.record(
          tx,
          {
            action: "subscription.changed",
            actor: { type: "system" },
            target: { type: subject.type, id: subject.id },
            ...(subject.type === "organization" ? { orgId: subject.id } : {}),
            metadata: { plan: input.plan, status: input.status },
          },
          request,
        );
      });
    },

    async addOverride(subject, input, request = {}) {
      if (input.effect === "limit" && (input.limit === undefined || (input.limit !== null && input.limit < 0)))
        throw new PlatformError("validation_failed", {
          errors: [{ path: "limit", message: "A limit override needs a limit" }],
        });
      const [feature] = await db.select().from(features).where(eq(features.key, input.feature));
      if (feature === undefined)
        throw new PlatformError("validation_failed", {
          errors: [{ path: "feature", message: `There is no feature ${input.feature}` }],
        });
      return db.transaction(async (tx) => {
        const now = clock.now();
        const id = newId("override", now.getTime());
        await tx.insert(entitlementOverrides).values({
          id,
          subjectType: subject.type,
          subjectId: subject.id,
          featureKey: input.feature,
          effect: input.effect,
          limitValue: input.limit ?? null,
          reason: input.reason,
          expiresAt: input.expiresAt ?? null,
          createdBy: input.createdBy ?? null,
          createdAt: now,
        });
        await audit.record(
          tx,
          {
            action: "entitlement.override_added",
            actor: input.createdBy ? { type: "user", id: input.createdBy } : { type: "system" },
            target: { type: subject.type, id: subject.id },
            ...(subject.type === "organization" ? { orgId: subject.id } : {}),
            metadata: { feature: input.feature, effect: input.effect, reason: input.reason },
          },
          request,
        );
        return id;
      });
    },

    async describe(subject) {
      const [subscription] = await db
        .select({ subscription: subscriptions, plan: plans })
        .from(subscriptions)
        .innerJoin(plans, eq(plans.id, subscriptions.planId))
        .where(and(eq(subscriptions.subjectType, subject.type), eq(subscriptions.subjectId, subject.id)));
      const overrides = await db
        .select()
        .from(entitlementOverrides)
        .where(and(eq(entitlementOverrides.subjectType, subject.type), eq(entitlementOverrides.subjectId, subject.id)))
        .orderBy(asc(entitlementOverrides.createdAt));
      const all = await db.select().from(features).orderBy(asc(features.key));
      return {
        subscription:
          subscription === undefined
            ? null
            : {
                plan: subscription.plan.key,
                planName: subscription.plan.name,
                status: subscription.subscription.status,
                trialEndsAt: subscription.subscription.trialEndsAt,
                periodEndsAt: subscription.subscription.periodEndsAt,
              },
        overrides,
        features: all.map((feature) => ({ key: feature.key, kind: feature.kind, description: feature.description })),
      };
    },

    async removeOverride(overrideId, request = {}, removedBy = null) {
      await db.transaction(async (tx) => {
        const removed = await tx
          .delete(entitlementOverrides)
          .where(eq(entitlementOverrides.id, overrideId))
          .returning();
        if (removed.length === 0) throw new PlatformError("not_found");
        await audit.record(
          tx,
          {
            action: "entitlement.override_removed",
            actor: removedBy === null ? { type: "system" } : { type: "user", id: removedBy },
            target: { type: removed[0]!.subjectType, id: removed[0]!.subjectId },
            metadata: { feature: removed[0]!.featureKey },
          },
          request,
        );
      });
    },

    async resolve({ userId, orgId = null }) {
      const now = clock.now();
      const subjects = or(
        and(eq(subscriptions.subjectType, "user"), eq(subscriptions.subjectId, userId)),
        ...(orgId === null
          ? []
          : [and(eq(subscriptions.subjectType, "organization"), eq(subscriptions.subjectId, orgId))]),
      );
      const subs = (await db.select().from(subscriptions).where(subjects)).filter((row) => live(row, now));
      const result: Record<string, Entitlement> = {};
      const kinds = new Map((await db.select().from(features)).map((feature) => [feature.key, feature.kind]));
      if (subs.length > 0) {
        const included = await db
          .select()
          .from(planFeatures)
          .where(
            inArray(
              planFeatures.planId,
              subs.map((row) => row.planId),
            ),
          );
        for (const row of included) {
          const current = result[row.featureKey];
          if (kinds.get(row.featureKey) === "limit") {
            const limit =
              current?.limit === null || row.limitValue === null ? null : Math.max(current?.limit ?? 0, row.limitValue);
            result[row.featureKey] = { enabled: true, limit };
          } else {
            result[row.featureKey] = { enabled: true };
          }
        }
      }
      const overrides = await db
        .select()
        .from(entitlementOverrides)
        .where(
          and(
            or(
              and(eq(entitlementOverrides.subjectType, "user"), eq(entitlementOverrides.subjectId, userId)),
              ...(orgId === null
                ? []
                : [
                    and(
                      eq(entitlementOverrides.subjectType, "organization"),
                      eq(entitlementOverrides.subjectId, orgId),
                    ),
                  ]),
            ),
            or(isNull(entitlementOverrides.expiresAt), gt(entitlementOverrides.expiresAt, now)),
          ),
        );
      // Grants and limits first, denials last: a deny wins whatever else applies.
      for (const override of overrides.filter((row) => row.effect !== "deny")) {
        if (override.effect === "grant")
          result[override.featureKey] = { ...result[override.featureKey], enabled: true };
        else result[override.featureKey] = { enabled: true, limit: override.limitValue };
      }
      for (const override of overrides.filter((row) => row.effect === "deny")) {
        result[override.featureKey] =
          kinds.get(override.featureKey) === "limit" ? { enabled: false, limit: 0 } : { enabled: false };
      }
      return result;
    },
  };
}
