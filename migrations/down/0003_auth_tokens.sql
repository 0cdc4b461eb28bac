-- Down of 0003_auth_tokens.sql: its foreign key, then its table (the table's indexes go with it).
ALTER TABLE "auth_tokens" DROP CONSTRAINT "auth_tokens_user_id_users_id_fk";--> statement-breakpoint
DROP TABLE "auth_tokens";
