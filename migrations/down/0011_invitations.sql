-- Down of 0011_invitations.sql: its foreign keys, then its table (the table's index and unique constraint go with it).
ALTER TABLE "organization_invitations" DROP CONSTRAINT "organization_invitations_role_id_roles_id_fk";--> statement-breakpoint
ALTER TABLE "organization_invitations" DROP CONSTRAINT "organization_invitations_org_id_organizations_id_fk";--> statement-breakpoint
DROP TABLE "organization_invitations";
