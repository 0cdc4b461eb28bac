-- Down of 0004_phones_unique_when_verified.sql: back to one account per number, verified or not.
-- Recreating "user_phones_phone_key" fails, and the rollback with it, while two accounts hold the
-- same number (allowed since 0004 while at most one has verified it): the old schema cannot hold that.
DROP INDEX "user_phones_user_phone_key";--> statement-breakpoint
DROP INDEX "user_phones_verified_phone_key";--> statement-breakpoint
CREATE INDEX "user_phones_user_idx" ON "user_phones" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "user_phones_phone_key" ON "user_phones" USING btree ("phone");
