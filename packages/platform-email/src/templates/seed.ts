import { DEFAULT_TEMPLATES, type TemplateDefinition } from "./defaults.ts";

/**
 * The SQL of the migration that seeds the default templates as version 1 of each key (locale
 * `en`). Ids are derived from the key in SQL, so the migration is the same on every run.
 * `bun run packages/platform-email/src/templates/seed.ts > migrations/NNNN_seed_email_templates.sql`
 */
export function seedSql(templates: readonly TemplateDefinition[] = DEFAULT_TEMPLATES): string {
  const quote = (value: string) => {
    if (value.includes("$tpl$")) throw new Error("template text may not contain $tpl$");
    return `$tpl$${value}$tpl$`;
  };
  const rows = templates.map(
    (template) =>
      `insert into "email_templates" ("id", "key", "locale", "version", "active", "subject", "mjml", "text", "variables", "updated_by", "created_at")\n` +
      `values ('tpl_0' || substr(md5(${quote(template.key)}), 1, 25), ${quote(template.key)}, 'en', 1, true, ${quote(template.subject)}, ${quote(template.mjml)}, ${quote(template.text)}, ${quote(JSON.stringify(template.variables))}::jsonb, null, now())\n` +
      `on conflict do nothing;`,
  );
  return `-- Default email templates (generated from packages/platform-email/src/templates/defaults.ts).\n${rows.join("\n--> statement-breakpoint\n")}\n`;
}

/**
 * The SQL of a migration that brings shipped templates up to date with defaults.ts: version 1 of each
 * is rewritten, unless an operator has saved a version of their own (theirs stays as they made it).
 */
export function reviseSql(templates: readonly TemplateDefinition[]): string {
  const quote = (value: string) => {
    if (value.includes("$tpl$")) throw new Error("template text may not contain $tpl$");
    return `$tpl$${value}$tpl$`;
  };
  const rows = templates.map(
    (template) =>
      `update "email_templates" set "subject" = ${quote(template.subject)}, "mjml" = ${quote(template.mjml)}, "text" = ${quote(template.text)}, "variables" = ${quote(JSON.stringify(template.variables))}::jsonb\n` +
      `where "key" = ${quote(template.key)} and "locale" = 'en' and "version" = 1 and "updated_by" is null\n` +
      `  and not exists (select 1 from "email_templates" "later" where "later"."key" = ${quote(template.key)} and "later"."version" > 1);`,
  );
  return `-- Revised default email templates (generated from packages/platform-email/src/templates/defaults.ts).\n${rows.join("\n--> statement-breakpoint\n")}\n`;
}

/**
 * Each seed migration and the template keys it adds. A template added to defaults.ts later gets a
 * migration of its own (`bun run packages/platform-email/src/templates/seed.ts KEY… > migrations/…`),
 * so databases migrated before it receive it too.
 */
export const SEED_MIGRATIONS: { file: string; keys: string[] }[] = [
  {
    file: "0002_seed_email_templates.sql",
    keys: [
      "auth.verify_email",
      "auth.password_reset",
      "auth.magic_link",
      "auth.otp_code",
      "auth.email_change_confirm",
      "auth.email_changed_notice",
      "auth.password_changed",
      "auth.sign_up_existing_account",
      "auth.account_setup",
      "auth.new_sign_in",
      "org.invitation",
      "security.mfa_changed",
    ],
  },
  { file: "0016_seed_security_templates.sql", keys: ["security.mfa_failures", "security.account_claimed"] },
  {
    file: "0027_seed_account_email_templates.sql",
    keys: ["auth.email_add_confirm", "auth.email_added_notice", "auth.primary_email_changed"],
  },
];

/**
 * Migrations that revise shipped templates (`bun run …/seed.ts --revise KEY… > migrations/…`). A seed
 * migration is history once a later one revises its templates: the database after every migration is
 * what defaults.ts says, which the seed test checks.
 */
export const REVISION_MIGRATIONS: { file: string; keys: string[] }[] = [
  { file: "0021_new_device_sign_in.sql", keys: ["auth.new_sign_in"] },
];

/** The default templates a seed migration adds, in their order in defaults.ts. */
export const seededBy = (keys: readonly string[]): TemplateDefinition[] =>
  DEFAULT_TEMPLATES.filter((template) => keys.includes(template.key));

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args[0] === "--revise") process.stdout.write(reviseSql(seededBy(args.slice(1))));
  else process.stdout.write(args.length === 0 ? seedSql() : seedSql(seededBy(args)));
}
