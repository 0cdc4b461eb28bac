-- A deleted account's memberships end with it (since the account's deletion removes them): the rows of
-- accounts deleted before that go too, so that no role stays "in use" by a deleted account and the
-- member counts agree with the member lists. Audit entries are not written for these.
DELETE FROM "organization_memberships" AS m USING "users" AS u WHERE u."id" = m."user_id" AND u."deleted_at" IS NOT NULL;
