import { AUDIT_ACTIONS, type AuditEntry } from "@burrow/platform-core";
import type { SecurityEventRow } from "@burrow/platform-ops";
import { CsrfField, type Frame, Pager, Shell, Table, when } from "../layout.tsx";

/** The filters as the form sent them (text), kept to fill the form again and build page links. */
export type AuditFilters = Partial<Record<"actorId" | "action" | "targetId" | "outcome" | "from" | "to", string>>;

const Text = (props: { name: keyof AuditFilters; label: string; filters: AuditFilters; type?: string }) => (
  <div>
    <label for={props.name}>{props.label}</label>
    <input
      id={props.name}
      name={props.name}
      type={props.type ?? "text"}
      value={props.filters[props.name]}
      maxlength={80}
    />
  </div>
);

export const AuditPage = (props: {
  frame: Frame;
  filters: AuditFilters;
  page: { data: AuditEntry[]; nextCursor: string | null };
}) => {
  const query = new URLSearchParams(
    Object.entries(props.filters).filter(([, value]) => value !== undefined && value !== "") as [string, string][],
  );
  const next = new URLSearchParams(query);
  if (props.page.nextCursor !== null) next.set("cursor", props.page.nextCursor);
  return (
    <Shell frame={props.frame} title="Audit log">
      <form class="toolbar" method="get" action="/audit" role="search">
        <Text name="actorId" label="Actor id" filters={props.filters} />
        <div>
          <label for="action">Action</label>
          <input id="action" name="action" list="actions" value={props.filters.action} maxlength={80} />
          <datalist id="actions">
            {Object.keys(AUDIT_ACTIONS).map((action) => (
              <option value={action} />
            ))}
          </datalist>
        </div>
        <Text name="targetId" label="Target id" filters={props.filters} />
        <div>
          <label for="outcome">Outcome</label>
          <select id="outcome" name="outcome">
            <option value="">Any</option>
            {["success", "failure", "denied"].map((outcome) => (
              <option value={outcome} selected={outcome === props.filters.outcome}>
                {outcome}
              </option>
            ))}
          </select>
        </div>
        <Text name="from" label="From" type="date" filters={props.filters} />
        <Text name="to" label="To" type="date" filters={props.filters} />
        <button type="submit">Filter</button>
      </form>
      <p class="muted">
        Export what these filters match: <a href={`/audit/export?${query.toString()}&format=csv`}>CSV</a> ·{" "}
        <a href={`/audit/export?${query.toString()}&format=ndjson`}>NDJSON</a>
      </p>
      <Table
        empty={"No entries match."}
        rows={props.page.data}
        headings={["When (UTC)", "Action", "Actor", "Target", "Outcome"]}
      >
        {props.page.data.map((entry) => (
          <tr>
            <td class="nowrap">{when(entry.occurredAt, true)}</td>
            <td>
              <code>{entry.action}</code>
            </td>
            <td>
              <code>{entry.actorId ?? entry.actorType}</code>
            </td>
            <td>
              <code>{entry.targetId === null ? "—" : `${entry.targetType} ${entry.targetId}`}</code>
            </td>
            <td class="nowrap">{entry.outcome}</td>
          </tr>
        ))}
      </Table>
      <Pager href={props.page.nextCursor === null ? null : `/audit?${next.toString()}`} label="Older entries" />
    </Shell>
  );
};

export const SecurityEventsPage = (props: {
  frame: Frame;
  resolved: boolean;
  page: { data: SecurityEventRow[]; nextCursor: string | null };
  notice: string | undefined;
}) => {
  const canResolve = props.frame.can("security_events:resolve");
  return (
    <Shell frame={props.frame} title="Security events" notice={props.notice}>
      <p class="muted">
        {props.resolved ? (
          <>
            Resolved events. <a href="/security-events">Show open ones</a>
          </>
        ) : (
          <>
            Open events, newest first. <a href="/security-events?resolved=true">Show resolved ones</a>
          </>
        )}
      </p>
      <Table
        empty={props.resolved ? "Nothing resolved yet." : "No open security events."}
        rows={props.page.data}
        headings={[
          "When (UTC)",
          "Kind",
          "Severity",
          "User",
          props.resolved ? "Resolution" : canResolve ? "Resolve" : "Details",
        ]}
      >
        {props.page.data.map((event) => (
          <tr>
            <td class="nowrap">{when(event.createdAt, true)}</td>
            <td>
              <code>{event.kind}</code>
            </td>
            <td>
              <span
                class={`badge ${event.severity === "high" ? "suspended" : event.severity === "medium" ? "invited" : ""}`}
              >
                {event.severity}
              </span>
            </td>
            <td>{event.userId === null ? "—" : <a href={`/users/${event.userId}`}>{event.userId}</a>}</td>
            <td>
              {event.resolvedAt !== null ? (
                <>
                  {event.resolutionNote} <span class="muted">({when(event.resolvedAt, true)})</span>
                </>
              ) : canResolve ? (
                <form class="toolbar" method="post" action={`/security-events/${event.id}/resolve`}>
                  <CsrfField token={props.frame.csrf} />
                  <label for={`note-${event.id}`}>Note</label>
                  <input id={`note-${event.id}`} name="note" required maxlength={1000} />
                  <button type="submit" class="secondary">
                    Resolve
                  </button>
                </form>
              ) : (
                <code>{JSON.stringify(event.details ?? {})}</code>
              )}
            </td>
          </tr>
        ))}
      </Table>
      {props.page.nextCursor === null ? null : (
        <div class="pager">
          <a
            class="button"
            href={`/security-events?${props.resolved ? "resolved=true&" : ""}cursor=${encodeURIComponent(props.page.nextCursor)}`}
          >
            Older events
          </a>
        </div>
      )}
    </Shell>
  );
};
