import { escapeHtml } from "@burrow/platform-email";

export const html = escapeHtml;

/**
 * The hosted pages' frame: one small, self-contained document. No scripts and no outside
 * resources, so the CSP can forbid everything but inline styles and posting forms to ourselves.
 */
export function page(options: { title: string; productName: string; brandColor: string; body: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${html(options.title)} · ${html(options.productName)}</title>
<style>
body{margin:0;background:#f3f4f6;font:16px/1.5 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2937}
main{max-width:420px;margin:8vh auto;background:#fff;border-radius:12px;padding:32px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.brand{font-weight:700;color:${html(options.brandColor)};margin-bottom:16px}
h1{font-size:22px;margin:0 0 12px}
p{margin:0 0 16px}
label{display:block;font-weight:600;margin:12px 0 6px}
input{width:100%;box-sizing:border-box;padding:10px 12px;border:1px solid #d1d5db;border-radius:8px;font:inherit}
button{margin-top:16px;width:100%;padding:12px;border:0;border-radius:8px;background:${html(options.brandColor)};color:#fff;font:inherit;font-weight:600;cursor:pointer}
.error{background:#fef2f2;color:#991b1b;border-radius:8px;padding:10px 12px;margin-bottom:16px}
.muted{color:#6b7280;font-size:14px}
</style></head>
<body><main><div class="brand">${html(options.productName)}</div>${options.body}</main></body></html>`;
}

/** A form that posts back to the same page, carrying the link's token. */
export function form(options: { action: string; token?: string; fields?: string; submit: string }): string {
  const token = options.token === undefined ? "" : `<input type="hidden" name="token" value="${html(options.token)}">`;
  return `<form method="post" action="${html(options.action)}">${token}${options.fields ?? ""}<button type="submit">${html(options.submit)}</button></form>`;
}

export const passwordField = (name: string, label: string) =>
  `<label for="${name}">${html(label)}</label><input id="${name}" name="${name}" type="password" autocomplete="new-password" minlength="12" maxlength="256" required>`;

export const emailField = `<label for="email">Email address</label><input id="email" name="email" type="email" autocomplete="email" maxlength="254" required>`;
