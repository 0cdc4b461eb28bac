-- Down of 0016_seed_security_templates.sql: deletes the two seeded templates by their fixed ids.
-- Versions an operator saved later are rows of their own and stay.
delete from "email_templates" where "id" in (
  'tpl_0' || substr(md5('security.account_claimed'), 1, 25),
  'tpl_0' || substr(md5('security.mfa_failures'), 1, 25)
);
