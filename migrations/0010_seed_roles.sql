-- Built-in roles (generated from packages/platform-rbac/src/permissions.ts).
insert into "roles" ("id", "key", "name", "scope", "org_id", "built_in", "created_at") values ('rol_0' || substr(md5('owner'), 1, 25), 'owner', 'Owner', 'organization', null, true, now()) on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('owner'), 1, 25), '*') on conflict do nothing;
--> statement-breakpoint
insert into "roles" ("id", "key", "name", "scope", "org_id", "built_in", "created_at") values ('rol_0' || substr(md5('admin'), 1, 25), 'admin', 'Admin', 'organization', null, true, now()) on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('admin'), 1, 25), 'org:read') on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('admin'), 1, 25), 'org:update') on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('admin'), 1, 25), 'members:*') on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('admin'), 1, 25), 'roles:*') on conflict do nothing;
--> statement-breakpoint
insert into "roles" ("id", "key", "name", "scope", "org_id", "built_in", "created_at") values ('rol_0' || substr(md5('member'), 1, 25), 'member', 'Member', 'organization', null, true, now()) on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('member'), 1, 25), 'org:read') on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('member'), 1, 25), 'members:read') on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('member'), 1, 25), 'roles:read') on conflict do nothing;
--> statement-breakpoint
insert into "roles" ("id", "key", "name", "scope", "org_id", "built_in", "created_at") values ('rol_0' || substr(md5('viewer'), 1, 25), 'viewer', 'Viewer', 'organization', null, true, now()) on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('viewer'), 1, 25), 'org:read') on conflict do nothing;
--> statement-breakpoint
insert into "roles" ("id", "key", "name", "scope", "org_id", "built_in", "created_at") values ('rol_0' || substr(md5('platform_admin'), 1, 25), 'platform_admin', 'Platform administrator', 'platform', null, true, now()) on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('platform_admin'), 1, 25), '*') on conflict do nothing;
--> statement-breakpoint
insert into "roles" ("id", "key", "name", "scope", "org_id", "built_in", "created_at") values ('rol_0' || substr(md5('support'), 1, 25), 'support', 'Support', 'platform', null, true, now()) on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('support'), 1, 25), 'users:read') on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('support'), 1, 25), 'org:read') on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('support'), 1, 25), 'members:read') on conflict do nothing;
--> statement-breakpoint
insert into "role_permissions" ("role_id", "permission") values ('rol_0' || substr(md5('support'), 1, 25), 'audit:read') on conflict do nothing;
