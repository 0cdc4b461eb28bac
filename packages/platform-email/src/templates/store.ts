import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { newId, PlatformError, type Clock, type Database } from "@burrow/platform-core";
import { emailTemplates } from "../schema.ts";
import { validateTemplate, type Branding } from "./render.ts";

export type TemplateRow = typeof emailTemplates.$inferSelect;

export const FALLBACK_LOCALE = "en";

export interface TemplateStore {
  /** The active version for `locale`, falling back to English when the locale has none. */
  active(db: Database, key: string, locale?: string): Promise<TemplateRow>;
  /** Validates and saves a new version, which becomes the active one. */
  save(
    db: Database,
    input: { key: string; locale: string; subject: string; mjml: string; text: string | null; variables: string[] },
    updatedBy: string | null,
  ): Promise<TemplateRow>;
  list(db: Database): Promise<TemplateRow[]>;
}

export function createTemplateStore(options: { clock: Clock; branding: Branding }): TemplateStore {
  return {
    async active(db, key, locale = FALLBACK_LOCALE) {
      const locales = locale === FALLBACK_LOCALE ? [FALLBACK_LOCALE] : [locale, FALLBACK_LOCALE];
      const rows = await db
        .select()
        .from(emailTemplates)
        .where(
          and(eq(emailTemplates.key, key), eq(emailTemplates.active, true), inArray(emailTemplates.locale, locales)),
        );
      const row =
        rows.find((entry) => entry.locale === locale) ?? rows.find((entry) => entry.locale === FALLBACK_LOCALE);
      if (row === undefined) throw new PlatformError("not_found", { detail: `No email template ${key}.` });
      return row;
    },

    async save(db, input, updatedBy) {
      await validateTemplate(input, options.branding);
      return db.transaction(async (tx) => {
        // Serialise saves of one template so two editors cannot both make version N+1.
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`${input.key}:${input.locale}`}))`);
        const [latest] = await tx
          .select({ version: emailTemplates.version })
          .from(emailTemplates)
          .where(and(eq(emailTemplates.key, input.key), eq(emailTemplates.locale, input.locale)))
          .orderBy(desc(emailTemplates.version))
          .limit(1);
        await tx
          .update(emailTemplates)
          .set({ active: false })
          .where(
            and(
              eq(emailTemplates.key, input.key),
              eq(emailTemplates.locale, input.locale),
              eq(emailTemplates.active, true),
            ),
          );
        const now = options.clock.now();
        const [row] = await tx
          .insert(emailTemplates)
          .values({
            id: newId("template", now.getTime()),
            ...input,
            version: (latest?.version ?? 0) + 1,
            active: true,
            updatedBy,
            createdAt: now,
          })
          .returning();
        return row!;
      });
    },

    list: (db) =>
      db
        .select()
        .from(emailTemplates)
        .where(eq(emailTemplates.active, true))
        .orderBy(emailTemplates.key, emailTemplates.locale),
  };
}
