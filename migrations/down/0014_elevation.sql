-- Down of 0014_elevation.sql: its foreign keys, then its tables, newest first (each table's indexes go with it).
ALTER TABLE "role_eligibilities" DROP CONSTRAINT "role_eligibilities_org_id_organizations_id_fk";--> statement-breakpoint
ALTER TABLE "role_eligibilities" DROP CONSTRAINT "role_eligibilities_role_id_roles_id_fk";--> statement-breakpoint
ALTER TABLE "role_eligibilities" DROP CONSTRAINT "role_eligibilities_user_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "elevations" DROP CONSTRAINT "elevations_org_id_organizations_id_fk";--> statement-breakpoint
ALTER TABLE "elevations" DROP CONSTRAINT "elevations_role_id_roles_id_fk";--> statement-breakpoint
ALTER TABLE "elevations" DROP CONSTRAINT "elevations_user_id_users_id_fk";--> statement-breakpoint
DROP TABLE "role_eligibilities";--> statement-breakpoint
DROP TABLE "elevations";
