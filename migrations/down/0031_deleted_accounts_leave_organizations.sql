-- Down of 0031_deleted_accounts_leave_organizations.sql: the memberships it removed belonged to deleted
-- accounts, which no one can use again; they are not brought back.
SELECT 1;
