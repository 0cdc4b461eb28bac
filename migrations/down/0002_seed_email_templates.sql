-- Down of 0002_seed_email_templates.sql: deletes the twelve seeded templates by their fixed ids.
-- Versions an operator saved later are rows of their own and stay.
delete from "email_templates" where "id" in (
  'tpl_0' || substr(md5('security.mfa_changed'), 1, 25),
  'tpl_0' || substr(md5('org.invitation'), 1, 25),
  'tpl_0' || substr(md5('auth.new_sign_in'), 1, 25),
  'tpl_0' || substr(md5('auth.account_setup'), 1, 25),
  'tpl_0' || substr(md5('auth.sign_up_existing_account'), 1, 25),
  'tpl_0' || substr(md5('auth.password_changed'), 1, 25),
  'tpl_0' || substr(md5('auth.email_changed_notice'), 1, 25),
  'tpl_0' || substr(md5('auth.email_change_confirm'), 1, 25),
  'tpl_0' || substr(md5('auth.otp_code'), 1, 25),
  'tpl_0' || substr(md5('auth.magic_link'), 1, 25),
  'tpl_0' || substr(md5('auth.password_reset'), 1, 25),
  'tpl_0' || substr(md5('auth.verify_email'), 1, 25)
);
