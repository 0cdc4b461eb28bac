-- Operators search users by part of an address or name: trigram indexes need the pg_trgm extension
-- (a trusted extension on PostgreSQL 13 and later; PGlite loads it from its contrib modules).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
--> statement-breakpoint
CREATE INDEX "users_email_trgm_idx" ON "users" USING gin ("email_normalized" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "users_name_trgm_idx" ON "users" USING gin ("name" gin_trgm_ops);