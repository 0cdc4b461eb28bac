-- Down of 0013_entitlements.sql: its foreign keys, then its tables, newest first (each table's indexes and keys go with it).
ALTER TABLE "subscriptions" DROP CONSTRAINT "subscriptions_plan_id_plans_id_fk";--> statement-breakpoint
ALTER TABLE "plan_features" DROP CONSTRAINT "plan_features_feature_key_features_key_fk";--> statement-breakpoint
ALTER TABLE "plan_features" DROP CONSTRAINT "plan_features_plan_id_plans_id_fk";--> statement-breakpoint
ALTER TABLE "entitlement_overrides" DROP CONSTRAINT "entitlement_overrides_feature_key_features_key_fk";--> statement-breakpoint
DROP TABLE "subscriptions";--> statement-breakpoint
DROP TABLE "plans";--> statement-breakpoint
DROP TABLE "plan_features";--> statement-breakpoint
DROP TABLE "features";--> statement-breakpoint
DROP TABLE "entitlement_overrides";
