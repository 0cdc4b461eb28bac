CREATE TABLE "email_messages" (
	"id" text PRIMARY KEY NOT NULL,
	"to" text NOT NULL,
	"template_key" text NOT NULL,
	"template_version" integer NOT NULL,
	"locale" text NOT NULL,
	"subject" text NOT NULL,
	"html_encrypted" text NOT NULL,
	"text_encrypted" text NOT NULL,
	"status" text NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"last_error" text,
	"provider_message_id" text,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "email_templates" (
	"id" text PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"locale" text NOT NULL,
	"version" integer NOT NULL,
	"active" boolean NOT NULL,
	"subject" text NOT NULL,
	"mjml" text NOT NULL,
	"text" text,
	"variables" jsonb NOT NULL,
	"updated_by" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "email_messages_status_idx" ON "email_messages" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "email_messages_to_idx" ON "email_messages" USING btree ("to","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "email_templates_version_key" ON "email_templates" USING btree ("key","locale","version");--> statement-breakpoint
CREATE UNIQUE INDEX "email_templates_active_key" ON "email_templates" USING btree ("key","locale") WHERE active;