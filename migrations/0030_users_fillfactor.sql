-- Every sign-in updates its user's row (last_sign_in_at). With a tenth of each page left free, the new
-- version of the row fits beside the old one and PostgreSQL updates it in place (a HOT update): no new
-- entry in any of the table's five indexes, two of them trigram indexes. Full pages sent every first
-- update of a row elsewhere, with an entry in each. Pages written from now on keep the space; pages
-- already full keep until the table is rewritten (VACUUM FULL).
ALTER TABLE "users" SET (fillfactor = 90);
