-- Down of 0027_seed_account_email_templates.sql: the three templates it seeded, with any versions
-- operators saved of them.
delete from "email_templates" where "key" in ('auth.email_add_confirm', 'auth.email_added_notice', 'auth.primary_email_changed');
