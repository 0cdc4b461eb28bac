-- Down of 0022_webhooks.sql: both webhook tables (deliveries first: they reference endpoints). Endpoints, their secrets and the delivery log are gone.
DROP TABLE "webhook_deliveries";
--> statement-breakpoint
DROP TABLE "webhook_endpoints";
