ALTER TABLE "jobs" ADD COLUMN "key" text;--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_key_pending_key" ON "jobs" USING btree ("key") WHERE status in ('queued', 'running');