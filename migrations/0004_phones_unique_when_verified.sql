DROP INDEX "user_phones_phone_key";--> statement-breakpoint
DROP INDEX "user_phones_user_idx";--> statement-breakpoint
CREATE UNIQUE INDEX "user_phones_verified_phone_key" ON "user_phones" USING btree ("phone") WHERE verified_at is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "user_phones_user_phone_key" ON "user_phones" USING btree ("user_id","phone");