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

/** A script of the console's own (`/assets/…`); a page that loads one is served with `script-src 'self'`. */
export type ScriptPath = "/assets/passkey.js";

const Document = (props: { title: string; scripts?: ScriptPath[] | undefined; children: Child }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width,initial-scale=1" />
      <title>{`${props.title} · Burrow admin`}</title>
      <link rel="stylesheet" href="/assets/admin.css" />
      {(props.scripts ?? []).map((src) => (
        <script type="module" src={src}></script>
      ))}
    </head>
    <body>{props.children}</body>
  </html>
);

/** A signed-in page: the menu on the side, the page's content beside it. */
export const Shell = (props: { frame: Frame; title: string; notice?: string | undefined; children: Child }) => (
  <Document title={props.title}>
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

/** A one-button form that posts an action (suspend, revoke, …), carrying the CSRF token. */
export const ActionButton = (props: { action: string; csrf: string; label: string; kind?: "danger" | "secondary" }) => (
  <form class="inline" method="post" action={props.action}>
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
export const ActionCell = (props: { show: boolean; action: string; csrf: string; label: string }) =>
  props.show ? (
    <td>
      <ActionButton action={props.action} csrf={props.csrf} label={props.label} kind="secondary" />
    </td>
  ) : null;
