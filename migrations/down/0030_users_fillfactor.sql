-- Down of 0030_users_fillfactor.sql: pages written from now on are filled again.
ALTER TABLE "users" RESET (fillfactor);
