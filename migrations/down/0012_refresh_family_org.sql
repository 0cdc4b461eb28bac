-- Down of 0012_refresh_family_org.sql: refresh-token families forget the organization they were issued for.
ALTER TABLE "refresh_token_families" DROP COLUMN "org_id";
