-- Down of 0015_mfa_challenge_org.sql: MFA challenges forget the organization they were started for.
ALTER TABLE "mfa_challenges" DROP COLUMN "org_id";
