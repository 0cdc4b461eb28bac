-- Down of 0000_initial.sql: its foreign keys, then its tables, newest first (each table's indexes go with it).
ALTER TABLE "user_phones" DROP CONSTRAINT "user_phones_user_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "user_emails" DROP CONSTRAINT "user_emails_user_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "password_history" DROP CONSTRAINT "password_history_user_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "credentials_password" DROP CONSTRAINT "credentials_password_user_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "auth_sessions" DROP CONSTRAINT "auth_sessions_user_id_users_id_fk";--> statement-breakpoint
DROP TABLE "rate_limit_buckets";--> statement-breakpoint
DROP TABLE "jobs";--> statement-breakpoint
DROP TABLE "audit_logs";--> statement-breakpoint
DROP TABLE "users";--> statement-breakpoint
DROP TABLE "user_phones";--> statement-breakpoint
DROP TABLE "user_emails";--> statement-breakpoint
DROP TABLE "sign_in_throttles";--> statement-breakpoint
DROP TABLE "password_history";--> statement-breakpoint
DROP TABLE "credentials_password";--> statement-breakpoint
DROP TABLE "auth_sessions";
