-- Down of 0028_social_login.sql: linked provider accounts, flows in progress and operator-added
-- providers are dropped; users who signed in only through a provider keep no way in but a reset.
DROP TABLE "oauth_states";
--> statement-breakpoint
DROP TABLE "oauth_providers";
--> statement-breakpoint
DROP TABLE "oauth_accounts";
