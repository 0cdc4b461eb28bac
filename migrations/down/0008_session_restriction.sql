-- Down of 0008_session_restriction.sql: sessions lose their restriction (restricted sessions become ordinary ones).
ALTER TABLE "auth_sessions" DROP COLUMN "restriction";
