-- Down of 0018_invitation_role_cascade.sql: deleting a role no longer deletes its pending invitations.
ALTER TABLE "organization_invitations" DROP CONSTRAINT "organization_invitations_role_id_roles_id_fk";--> statement-breakpoint
ALTER TABLE "organization_invitations" ADD CONSTRAINT "organization_invitations_role_id_roles_id_fk" FOREIGN KEY ("role_id") REFERENCES "public"."roles"("id") ON DELETE no action ON UPDATE no action;
