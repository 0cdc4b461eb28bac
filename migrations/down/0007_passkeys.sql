-- Down of 0007_passkeys.sql: the passkey columns of "mfa_factors" and the ceremony table.
-- Passkey factors stay as rows but lose their credentials: they can no longer be used to sign in.
DROP INDEX "mfa_factors_credential_key";--> statement-breakpoint
ALTER TABLE "mfa_factors" DROP COLUMN "aaguid";--> statement-breakpoint
ALTER TABLE "mfa_factors" DROP COLUMN "backed_up";--> statement-breakpoint
ALTER TABLE "mfa_factors" DROP COLUMN "transports";--> statement-breakpoint
ALTER TABLE "mfa_factors" DROP COLUMN "sign_count";--> statement-breakpoint
ALTER TABLE "mfa_factors" DROP COLUMN "public_key";--> statement-breakpoint
ALTER TABLE "mfa_factors" DROP COLUMN "credential_id";--> statement-breakpoint
DROP TABLE "webauthn_challenges";
