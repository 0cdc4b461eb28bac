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

if (import.meta.main) process.stdout.write(seedSql());
