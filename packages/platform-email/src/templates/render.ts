import { PlatformError } from "@burrow/platform-core";
import { GLOBAL_VARIABLES } from "./defaults.ts";

/** Product name and colour, from configuration, filled into every template before compiling. */
export interface Branding {
  productName: string;
  brandColor: string;
}

/** What compiling a template yields: HTML still holding its `{{variable}}` placeholders. */
export interface CompiledTemplate {
  subject: string;
  html: string;
  text: string;
  variables: readonly string[];
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export interface TemplateSource {
  subject: string;
  mjml: string;
  text: string | null;
  variables: readonly string[];
}

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (value: string): string => value.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);

/** The variable names a piece of template text uses. */
export function placeholdersIn(source: string): Set<string> {
  return new Set([...source.matchAll(PLACEHOLDER)].map((match) => match[1]!));
}

function fillGlobals(source: string, branding: Branding, escape: (value: string) => string): string {
  return source.replace(PLACEHOLDER, (whole, name: string) => {
    if (name === "productName") return escape(branding.productName);
    if (name === "brandColor") return escape(branding.brandColor);
    return whole;
  });
}

/** A plain-text part for templates without one: the HTML's visible text, links kept. */
export function htmlToText(html: string): string {
  return html
    .replace(/<(style|head|title)[^>]*>[\s\S]*?<\/\1>/gi, "")
    .replace(/<a [^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi, (_, href: string, label: string) =>
      label.replace(/<[^>]+>/g, "").trim() === href ? href : `${label} (${href})`,
    )
    .replace(/<br\s*\/?>/gi, "\n")
    .replace(/<\/(p|div|tr|h[1-6])>/gi, "\n")
    .replace(/<[^>]+>/g, "")
    .replace(/&nbsp;/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/[ \t]+/g, " ")
    .replace(/\n\s*\n\s*\n+/g, "\n\n")
    .trim();
}

/**
 * Checks a template before it is saved: only declared (or global) variables, and MJML that
 * compiles under strict validation. Throws a 400 problem listing what is wrong.
 */
export async function validateTemplate(source: TemplateSource, branding: Branding): Promise<void> {
  const allowed = new Set<string>([...source.variables, ...GLOBAL_VARIABLES]);
  const used = new Set([
    ...placeholdersIn(source.subject),
    ...placeholdersIn(source.mjml),
    ...placeholdersIn(source.text ?? ""),
  ]);
  const undeclared = [...used].filter((name) => !allowed.has(name));
  if (undeclared.length > 0) {
    throw new PlatformError("validation_failed", {
      detail: `The template uses undeclared variables: ${undeclared.join(", ")}.`,
      errors: undeclared.map((name) => ({ path: "variables", message: `{{${name}}} is not declared` })),
    });
  }
  await compileMjml(source.mjml, branding);
}

/**
 * MJML (with its HTML parser, minifier and validators) is about 45 MB resident once loaded, and it
 * runs only when a template version is first compiled: load it then, not at start-up.
 */
const importMjml = () => import("mjml");
let mjmlModule: ReturnType<typeof importMjml> | undefined;
const loadMjml = () => (mjmlModule ??= importMjml());

async function compileMjml(mjml: string, branding: Branding): Promise<string> {
  const { default: mjml2html } = await loadMjml();
  let result: { html: string; errors: { formattedMessage?: string; message: string }[] };
  try {
    // `fonts: {}`: MJML would otherwise add a Google Fonts <link> for any stack naming Roboto, Lato,
    // Open Sans, … and a mail client loading it tells a third party who opened the mail.
    result = await mjml2html(fillGlobals(mjml, branding, escapeHtml), {
      validationLevel: "strict",
      keepComments: false,
      fonts: {},
    });
  } catch (error) {
    // MJML names the server's working directory in its messages ("Line 1 of /srv/…"): keep the line, drop the path.
    const raw = error instanceof Error ? error.message : "invalid MJML";
    const message = raw
      .replace(/ValidationError:\s*/g, "")
      .replace(/Line (\d+) of [^(\n]*\(/g, "Line $1 (")
      .trim()
      .split("\n")
      .filter(Boolean)
      .slice(-3)
      .join(" ");
    throw new PlatformError("validation_failed", {
      detail: `The MJML does not compile: ${message}`,
      errors: [{ path: "mjml", message }],
    });
  }
  if (result.errors.length > 0) {
    throw new PlatformError("validation_failed", {
      detail: "The MJML does not compile.",
      errors: result.errors.map((error) => ({ path: "mjml", message: error.formattedMessage ?? error.message })),
    });
  }
  return result.html;
}

/**
 * Compiles templates once per version and renders messages from the cache: rendering is string
 * substitution only, MJML never runs per message.
 */
export interface TemplateRenderer {
  /** `cacheKey` names one immutable version, for example the template row's id. */
  compile(cacheKey: string, source: TemplateSource): Promise<CompiledTemplate>;
  render(compiled: CompiledTemplate, values: Record<string, string>): RenderedEmail;
  /**
   * A draft rendered as it would be sent, after the checks saving makes (its MJML, and only its
   * declared variables). Nothing is cached: drafts change on every edit.
   */
  preview(source: TemplateSource, values: Record<string, string>): Promise<RenderedEmail>;
}

export function createRenderer(branding: Branding): TemplateRenderer {
  const cache = new Map<string, Promise<CompiledTemplate>>();
  async function compileNow(source: TemplateSource): Promise<CompiledTemplate> {
    const html = await compileMjml(source.mjml, branding);
    const text = source.text ?? htmlToText(html);
    return {
      subject: fillGlobals(source.subject, branding, (value) => value),
      html,
      text: fillGlobals(text, branding, (value) => value),
      variables: source.variables,
    };
  }
  const renderer: TemplateRenderer = {
    async preview(source, values) {
      await validateTemplate(source, branding);
      return renderer.render(await compileNow(source), values);
    },
    compile(cacheKey, source) {
      let compiled = cache.get(cacheKey);
      if (compiled === undefined) {
        compiled = compileNow(source);
        cache.set(cacheKey, compiled);
        compiled.catch(() => cache.delete(cacheKey));
      }
      return compiled;
    },
    render(compiled, values) {
      const missing = compiled.variables.filter((name) => values[name] === undefined);
      // A programming error, not user input: never send a message with a hole in it.
      if (missing.length > 0) throw new Error(`Missing template variables: ${missing.join(", ")}`);
      const substitute = (source: string, escape: (value: string) => string) =>
        source.replace(PLACEHOLDER, (whole, name: string) =>
          values[name] === undefined ? whole : escape(values[name]!),
        );
      return {
        subject: substitute(compiled.subject, (value) => value.replace(/[\r\n]+/g, " ")),
        html: substitute(compiled.html, escapeHtml),
        text: substitute(compiled.text, (value) => value),
      };
    },
  };
  return renderer;
}
