-- Down of 0023_admin_sessions.sql: admin console sessions become app sessions again; revoke them first if that matters.
ALTER TABLE "auth_sessions" DROP COLUMN "audience";
