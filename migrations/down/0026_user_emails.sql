-- Down of 0026_user_emails.sql: the added addresses are gone for good (primary addresses live on
-- "users" and stay).
DROP TABLE "user_emails";
