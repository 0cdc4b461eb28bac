import { BUILT_IN_ROLES, type BuiltInRole } from "../access/permissions.ts";

/**
 * The migration that seeds the built-in roles. Ids are derived from the key in SQL, so the file is
 * the same on every run. `bun run packages/platform-rbac/src/roles/seed.ts > migrations/NNNN_seed_roles.sql`
 */
export function seedRolesSql(roles: readonly BuiltInRole[] = BUILT_IN_ROLES): string {
  const id = (key: string) => `'rol_0' || substr(md5('${key}'), 1, 25)`;
  const statements = roles.flatMap((role) => [
    `insert into "roles" ("id", "key", "name", "scope", "org_id", "built_in", "created_at") values (${id(role.key)}, '${role.key}', '${role.name}', '${role.scope}', null, true, now()) on conflict do nothing;`,
    ...role.permissions.map(
      (permission) =>
        `insert into "role_permissions" ("role_id", "permission") values (${id(role.key)}, '${permission}') on conflict do nothing;`,
    ),
  ]);
  return `-- Built-in roles (generated from packages/platform-rbac/src/permissions.ts).\n${statements.join("\n--> statement-breakpoint\n")}\n`;
}

if (import.meta.main) process.stdout.write(seedRolesSql());
