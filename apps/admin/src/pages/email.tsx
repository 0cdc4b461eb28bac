import { EMAIL_STATUSES, type EmailMessageRow, type EmailStatus, type TemplateRow } from "@burrow/platform-email";
import { ActionButton, CsrfField, type Frame, Shell, Table, when } from "../layout.tsx";

const templatePath = (key: string, locale: string) =>
  `/email/templates/${encodeURIComponent(key)}${locale === "en" ? "" : `?locale=${encodeURIComponent(locale)}`}`;

const EmailTabs = (props: { active: "templates" | "messages"; mailbox: string | null }) => (
  <p class="tabs">
    <a href="/email" aria-current={props.active === "templates" ? "page" : undefined}>
      Templates
    </a>
    <a href="/email/messages" aria-current={props.active === "messages" ? "page" : undefined}>
      Outbox
    </a>
    {props.mailbox === null ? null : (
      <a href={props.mailbox} target="_blank" rel="noopener">
        Development mailbox
      </a>
    )}
  </p>
);

export const TemplatesPage = (props: { frame: Frame; templates: TemplateRow[]; mailbox: string | null }) => (
  <Shell frame={props.frame} title="Email">
    <EmailTabs active="templates" mailbox={props.mailbox} />
    <table>
      <thead>
        <tr>
          <th scope="col">Template</th>
          <th scope="col">Locale</th>
          <th scope="col">Subject</th>
          <th scope="col">Version</th>
          <th scope="col">Saved</th>
        </tr>
      </thead>
      <tbody>
        {props.templates.map((template) => (
          <tr>
            <td>
              <a href={templatePath(template.key, template.locale)}>
                <code>{template.key}</code>
              </a>
            </td>
            <td>{template.locale}</td>
            <td>{template.subject}</td>
            <td>{template.version}</td>
            <td class="nowrap">{when(template.createdAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </Shell>
);

/** The editor: the draft on the left, its rendering on the right (the Preview button posts into the frame). */
export const TemplatePage = (props: {
  frame: Frame;
  template: TemplateRow;
  draft?: { subject: string; mjml: string; text: string | null } | undefined;
  error?: string | undefined;
  notice?: string | undefined;
}) => {
  const { template, frame } = props;
  const draft = props.draft ?? template;
  const base = templatePath(template.key, template.locale);
  const action = (suffix: string) => {
    const [path, query] = base.split("?");
    return `${path}${suffix}${query === undefined ? "" : `?${query}`}`;
  };
  const manage = frame.can("email:manage");
  return (
    <Shell frame={frame} title={template.key} notice={props.notice}>
      <p class="muted">
        <a href="/email">All templates</a> · locale {template.locale} · version {template.version} · variables:{" "}
        {template.variables.length === 0 ? "none" : template.variables.map((name) => `{{${name}}}`).join(", ")}, and{" "}
        {"{{productName}}"}, {"{{brandColor}}"}
      </p>
      {props.error === undefined ? null : (
        <div class="error" role="alert">
          {props.error}
        </div>
      )}
      <div class="editor">
        <form method="post" action={action("")} class="card">
          <CsrfField token={frame.csrf} />
          <label for="subject">Subject</label>
          <input id="subject" name="subject" value={draft.subject} maxlength={300} required />
          <label for="mjml">MJML</label>
          <textarea id="mjml" name="mjml" rows={22} spellcheck={false} required>
            {draft.mjml}
          </textarea>
          <label for="text">Plain text (empty: made from the HTML)</label>
          <textarea id="text" name="text" rows={6} spellcheck={false}>
            {draft.text ?? ""}
          </textarea>
          <div class="actions">
            <button type="submit" class="secondary" formaction={action("/preview")} formtarget="preview">
              Preview
            </button>
            {manage ? <button type="submit">Save as new version</button> : null}
          </div>
        </form>
        <div class="preview">
          <iframe
            name="preview"
            title="Preview of the email"
            src={action("/preview")}
            sandbox=""
            referrerpolicy="no-referrer"
          />
          {manage ? (
            <ActionButton
              action={action("/test")}
              csrf={frame.csrf}
              label={`Send the saved version to me`}
              kind="secondary"
            />
          ) : null}
        </div>
      </div>
    </Shell>
  );
};

export const MessagesPage = (props: {
  frame: Frame;
  messages: EmailMessageRow[];
  status: EmailStatus | undefined;
  mailbox: string | null;
  notice?: string | undefined;
}) => (
  <Shell frame={props.frame} title="Email" notice={props.notice}>
    <EmailTabs active="messages" mailbox={props.mailbox} />
    <form class="toolbar" method="get" action="/email/messages">
      <div>
        <label for="status">Status</label>
        <select id="status" name="status">
          <option value="">Any</option>
          {EMAIL_STATUSES.map((status) => (
            <option value={status} selected={status === props.status}>
              {status}
            </option>
          ))}
        </select>
      </div>
      <button type="submit">Filter</button>
    </form>
    <Table
      empty={"No messages."}
      rows={props.messages}
      headings={["Queued (UTC)", "To", "Template", "Status", "Tries", "Last error"]}
    >
      {props.messages.map((message) => (
        <tr>
          <td class="nowrap">{when(message.createdAt)}</td>
          <td>{message.to}</td>
          <td>
            <code>{message.templateKey}</code>
          </td>
          <td>
            <span
              class={`badge ${message.status === "sent" ? "active" : message.status === "dead" ? "suspended" : "invited"}`}
            >
              {message.status}
            </span>
          </td>
          <td>{message.attempts}</td>
          <td>
            {message.lastError ?? "—"}
            {message.status === "dead" && props.frame.can("email:manage") ? (
              <ActionButton
                action={`/email/messages/${message.id}/retry`}
                csrf={props.frame.csrf}
                label="Retry"
                kind="secondary"
              />
            ) : null}
          </td>
        </tr>
      ))}
    </Table>
  </Shell>
);
