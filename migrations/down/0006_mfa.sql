-- Down of 0006_mfa.sql: its foreign keys, then its tables, newest first (each table's indexes and unique constraints go with it).
ALTER TABLE "mfa_recovery_codes" DROP CONSTRAINT "mfa_recovery_codes_user_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "mfa_factors" DROP CONSTRAINT "mfa_factors_user_id_users_id_fk";--> statement-breakpoint
ALTER TABLE "mfa_challenges" DROP CONSTRAINT "mfa_challenges_user_id_users_id_fk";--> statement-breakpoint
DROP TABLE "mfa_recovery_codes";--> statement-breakpoint
DROP TABLE "mfa_factors";--> statement-breakpoint
DROP TABLE "mfa_challenges";
