-- Down of 0005_tokens_and_api_keys.sql: its foreign keys, then its tables, newest first (each table's indexes go with it).
ALTER TABLE "refresh_tokens" DROP CONSTRAINT "refresh_tokens_family_id_refresh_token_families_id_fk";--> statement-breakpoint
ALTER TABLE "refresh_token_families" DROP CONSTRAINT "refresh_token_families_user_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "refresh_token_families" DROP CONSTRAINT "refresh_token_families_session_id_auth_sessions_id_fk";--> statement-breakpoint
DROP TABLE "signing_keys";--> statement-breakpoint
DROP TABLE "refresh_tokens";--> statement-breakpoint
DROP TABLE "refresh_token_families";--> statement-breakpoint
DROP TABLE "api_keys";
