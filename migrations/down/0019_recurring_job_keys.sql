-- Down of 0019_recurring_job_keys.sql: jobs lose their keys (nothing stops a second pending copy of a recurring job).
DROP INDEX "jobs_key_pending_key";--> statement-breakpoint
ALTER TABLE "jobs" DROP COLUMN "key";
