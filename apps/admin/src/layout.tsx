import type { Child } from "hono/jsx";

/** What a page needs to draw the frame: who is signed in, what they may see, and the CSRF token. */
export interface Frame {
  email: string;
  /** The operator's platform permission patterns; the menu shows only what they cover. */
  can: (permission: string) => boolean;
  csrf: string;
  /** The path of the page, to mark its menu entry. */
  path: string;
}

const MENU: { href: string; label: string; permission: string | null }[] = [
  { href: "/", label: "Overview", permission: null },
  { href: "/users", label: "Users", permission: "users:read" },
  { href: "/orgs", label: "Organizations", permission: "org:read" },
  { href: "/roles", label: "Roles", permission: "users:read" },
  { href: "/audit", label: "Audit log", permission: "audit:read" },
  { href: "/security-events", label: "Security events", permission: "audit:read" },
  { href: "/email", label: "Email", permission: "email:read" },
  { href: "/webhooks", label: "Webhooks", permission: "webhooks:read" },
  { href: "/settings", label: "Settings", permission: "settings:read" },
];

/**
 * A script of the console's own (`/assets/…`); a page that loads one is served with `script-src 'self'`.
 * The passkey ceremony is a module bundled by Bun; htmx is the library's own file from node_modules.
 */
export type ScriptPath = "/assets/passkey.js" | "/assets/htmx.min.js";

/**
 * htmx under the console's policy: no indicator styles (an inline <style> the CSP refuses), no eval,
 * no scripts from responses, requests only to the console, no copies of pages in localStorage; and a
 * refused action (4xx) shows its error page in place of the page, as it would without script.
 */
export const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  selfRequestsOnly: true,
  historyCacheSize: 0,
  responseHandling: [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "[4]..", swap: true, error: false, target: "body", swapOverride: "innerHTML" },
    { code: "...", swap: false, error: true },
  ],
});

const Document = (props: { title: string; scripts?: ScriptPath[] | undefined; children: Child }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width,initial-scale=1" />
      <title>{`${props.title} · Burrow admin`}</title>
      <link rel="stylesheet" href="/assets/admin.css" />
      {(props.scripts ?? []).map((src) =>
        src === "/assets/htmx.min.js" ? (
          <>
            <meta name="htmx-config" content={HTMX_CONFIG} />
            <script defer src={src}></script>
          </>
        ) : (
          <script type="module" src={src}></script>
        ),
      )}
    </head>
    <body>{props.children}</body>
  </html>
);

/** A signed-in page: the menu on the side, the page's content beside it. */
export const Shell = (props: {
  frame: Frame;
  title: string;
  notice?: string | undefined;
  /** Pages with in-place updates load htmx; the rest of the console runs no script. */
  scripts?: ScriptPath[] | undefined;
  children: Child;
}) => (
  <Document title={props.title} scripts={props.scripts}>
    <div class="shell">
      <aside class="side">
        <a class="brand" href="/">
          Burrow admin
        </a>
        <nav aria-label="Main">
          {MENU.filter((item) => item.permission === null || props.frame.can(item.permission)).map((item) => (
            <a
              href={item.href}
              aria-current={
                (item.href === "/" ? props.frame.path === "/" : props.frame.path.startsWith(item.href))
                  ? "page"
                  : undefined
              }
            >
              {item.label}
            </a>
          ))}
        </nav>
        <div class="who">
          Signed in as {props.frame.email}
          <form method="post" action="/sign-out">
            <CsrfField token={props.frame.csrf} />
            <button type="submit">Sign out</button>
          </form>
        </div>
      </aside>
      <main>
        <h1>{props.title}</h1>
        {props.notice === undefined ? null : (
          <div class="notice" role="status">
            {props.notice}
          </div>
        )}
        {props.children}
      </main>
    </div>
  </Document>
);

/** A page outside the console: signing in, the second factor, enrolling one, errors. */
export const Solo = (props: {
  title: string;
  error?: string | undefined;
  scripts?: ScriptPath[] | undefined;
  children: Child;
}) => (
  <Document title={props.title} scripts={props.scripts}>
    <div class="solo">
      <div class="card">
        <div class="brand">Burrow admin</div>
        <h1>{props.title}</h1>
        {props.error === undefined ? null : (
          <div class="error" role="alert">
            {props.error}
          </div>
        )}
        {props.children}
      </div>
    </div>
  </Document>
);

export const CsrfField = (props: { token: string }) => <input type="hidden" name="_csrf" value={props.token} />;

/**
 * htmx attributes that post a form in place and put the answer where its table row was; without
 * script the same form posts and redirects.
 */
export const inPlaceRow = { "hx-target": "closest tr", "hx-swap": "outerHTML" } as const;
export const inPlace = (action: string) => ({ "hx-post": action, ...inPlaceRow });

/** A one-button form that posts an action (suspend, revoke, …), carrying the CSRF token. */
export const ActionButton = (props: {
  action: string;
  csrf: string;
  label: string;
  kind?: "danger" | "secondary";
  /** Posted in place by htmx (the answer replaces the button's table row). */
  inPlace?: boolean;
}) => (
  <form class="inline" method="post" action={props.action} {...(props.inPlace ? inPlace(props.action) : {})}>
    <CsrfField token={props.csrf} />
    <button type="submit" class={props.kind}>
      {props.label}
    </button>
  </form>
);

/** A time as the console shows it, in UTC: to the minute, or `exact` to the second. */
export const when = (date: Date | null, exact = false) =>
  date === null
    ? "—"
    : date
        .toISOString()
        .replace("T", " ")
        .slice(0, exact ? 19 : 16);

/** A list's table, or its empty state when there is nothing to show. A null heading is left out. */
export const Table = (props: {
  empty: string;
  rows: readonly unknown[];
  headings: (string | null)[];
  children: Child;
}) =>
  props.rows.length === 0 ? (
    <div class="empty">{props.empty}</div>
  ) : (
    <table>
      <thead>
        <tr>
          {props.headings
            .filter((heading) => heading !== null)
            .map((heading) => (
              <th scope="col">{heading}</th>
            ))}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  );

/** The link to a list's next page, when there is one. */
export const Pager = (props: { href: string | null; label?: string }) =>
  props.href === null ? null : (
    <div class="pager">
      <a class="button" href={props.href}>
        {props.label ?? "Next page"}
      </a>
    </div>
  );

/** A table's action cell: one button, or no cell at all when the operator may not act. */
export const ActionCell = (props: { show: boolean; action: string; csrf: string; label: string; inPlace?: boolean }) =>
  props.show ? (
    <td>
      <ActionButton
        action={props.action}
        csrf={props.csrf}
        label={props.label}
        kind="secondary"
        inPlace={props.inPlace ?? false}
      />
    </td>
  ) : null;

/** What an in-place action answers: the row it acted on becomes a line saying what happened. */
export const DoneRow = (props: { message: string }) => (
  <tr class="done">
    <td colspan={20} role="status">
      {props.message}
    </td>
  </tr>
);
