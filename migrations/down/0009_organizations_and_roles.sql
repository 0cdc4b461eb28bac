-- Down of 0009_organizations_and_roles.sql: its foreign keys, then its tables, newest first (each table's indexes go with it).
ALTER TABLE "roles" DROP CONSTRAINT "roles_org_id_organizations_id_fk";--> statement-breakpoint
ALTER TABLE "role_permissions" DROP CONSTRAINT "role_permissions_role_id_roles_id_fk";--> statement-breakpoint
ALTER TABLE "principal_roles" DROP CONSTRAINT "principal_roles_org_id_organizations_id_fk";--> statement-breakpoint
ALTER TABLE "principal_roles" DROP CONSTRAINT "principal_roles_role_id_roles_id_fk";--> statement-breakpoint
ALTER TABLE "principal_roles" DROP CONSTRAINT "principal_roles_user_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "organization_memberships" DROP CONSTRAINT "organization_memberships_role_id_roles_id_fk";--> statement-breakpoint
ALTER TABLE "organization_memberships" DROP CONSTRAINT "organization_memberships_user_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "organization_memberships" DROP CONSTRAINT "organization_memberships_org_id_organizations_id_fk";--> statement-breakpoint
DROP TABLE "roles";--> statement-breakpoint
DROP TABLE "role_permissions";--> statement-breakpoint
DROP TABLE "principal_roles";--> statement-breakpoint
DROP TABLE "organizations";--> statement-breakpoint
DROP TABLE "organization_memberships";
