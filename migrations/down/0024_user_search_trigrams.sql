-- Down of 0024_user_search_trigrams.sql: the trigram indexes go (search reads the table again), and
-- the extension the migration created.
DROP INDEX "users_name_trgm_idx";
--> statement-breakpoint
DROP INDEX "users_email_trgm_idx";
--> statement-breakpoint
DROP EXTENSION IF EXISTS pg_trgm;
