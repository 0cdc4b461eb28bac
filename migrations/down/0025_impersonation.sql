-- Down of 0025_impersonation.sql: impersonation sessions become ordinary sessions; end them first.
ALTER TABLE "auth_sessions" DROP COLUMN "impersonator_id";
