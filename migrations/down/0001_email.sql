-- Down of 0001_email.sql: its tables, newest first (each table's indexes go with it).
DROP TABLE "email_templates";--> statement-breakpoint
DROP TABLE "email_messages";
