-- Down of 0010_seed_roles.sql: deletes the seeded permissions, then the six built-in roles, by their fixed ids.
-- Deleting a role takes the grants of it with it (principal roles, eligibilities, elevations cascade);
-- while an organization member holds a built-in role the delete fails, and the rollback with it.
delete from "role_permissions" where ("role_id", "permission") in (
  ('rol_0' || substr(md5('support'), 1, 25), 'audit:read'),
  ('rol_0' || substr(md5('support'), 1, 25), 'members:read'),
  ('rol_0' || substr(md5('support'), 1, 25), 'org:read'),
  ('rol_0' || substr(md5('support'), 1, 25), 'users:read'),
  ('rol_0' || substr(md5('platform_admin'), 1, 25), '*'),
  ('rol_0' || substr(md5('viewer'), 1, 25), 'org:read'),
  ('rol_0' || substr(md5('member'), 1, 25), 'roles:read'),
  ('rol_0' || substr(md5('member'), 1, 25), 'members:read'),
  ('rol_0' || substr(md5('member'), 1, 25), 'org:read'),
  ('rol_0' || substr(md5('admin'), 1, 25), 'roles:*'),
  ('rol_0' || substr(md5('admin'), 1, 25), 'members:*'),
  ('rol_0' || substr(md5('admin'), 1, 25), 'org:update'),
  ('rol_0' || substr(md5('admin'), 1, 25), 'org:read'),
  ('rol_0' || substr(md5('owner'), 1, 25), '*')
);
--> statement-breakpoint
delete from "roles" where "id" in (
  'rol_0' || substr(md5('support'), 1, 25),
  'rol_0' || substr(md5('platform_admin'), 1, 25),
  'rol_0' || substr(md5('viewer'), 1, 25),
  'rol_0' || substr(md5('member'), 1, 25),
  'rol_0' || substr(md5('admin'), 1, 25),
  'rol_0' || substr(md5('owner'), 1, 25)
);
