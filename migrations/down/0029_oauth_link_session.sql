-- Down of 0029_oauth_link_session.sql: link flows in progress lose the session that started them
-- (an older version does not check it at the callback).
ALTER TABLE "oauth_states" DROP COLUMN "session_id";
