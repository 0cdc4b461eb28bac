import { AUDIT_ACTIONS, type AuditEntry } from "@burrow/platform-core";
import type { SecurityEventRow } from "@burrow/platform-ops";
import { CsrfField, type Frame, inPlace, Pager, Shell, Table, when } from "../layout.tsx";

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

/** The filters as a query string (empty ones left out), for links that keep them. */
const filterQuery = (filters: AuditFilters) =>
  new URLSearchParams(
    Object.entries(filters).filter(([, value]) => value !== undefined && value !== "") as [string, string][],
  );

/** The filter form, the switch between the table and the timeline, and the export links: both views share them. */
const AuditFilterBar = (props: { filters: AuditFilters; view: "table" | "timeline" }) => {
  const query = filterQuery(props.filters).toString();
  const path = props.view === "table" ? "/audit" : "/audit/timeline";
  return (
    <>
      <p class="tabs">
        <a href={`/audit${query === "" ? "" : `?${query}`}`} aria-current={props.view === "table" ? "page" : undefined}>
          Table
        </a>
        <a
          href={`/audit/timeline${query === "" ? "" : `?${query}`}`}
          aria-current={props.view === "timeline" ? "page" : undefined}
        >
          Timeline
        </a>
      </p>
      <form class="toolbar" method="get" action={path} role="search">
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
        Export what these filters match: <a href={`/audit/export?${query}&format=csv`}>CSV</a> ·{" "}
        <a href={`/audit/export?${query}&format=ndjson`}>NDJSON</a>
      </p>
    </>
  );
};

/** The link to the next (older) page of a view, keeping its filters. */
const olderHref = (path: string, filters: AuditFilters, cursor: string | null) => {
  if (cursor === null) return null;
  const next = filterQuery(filters);
  next.set("cursor", cursor);
  return `${path}?${next.toString()}`;
};

const Who = (props: { entry: AuditEntry }) => <code>{props.entry.actorId ?? props.entry.actorType}</code>;
const Target = (props: { entry: AuditEntry }) => (
  <code>{props.entry.targetId === null ? "—" : `${props.entry.targetType} ${props.entry.targetId}`}</code>
);

export const AuditPage = (props: {
  frame: Frame;
  filters: AuditFilters;
  page: { data: AuditEntry[]; nextCursor: string | null };
}) => (
  <Shell frame={props.frame} title="Audit log">
    <AuditFilterBar filters={props.filters} view="table" />
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
            <Who entry={entry} />
          </td>
          <td>
            <Target entry={entry} />
          </td>
          <td class="nowrap">{entry.outcome}</td>
        </tr>
      ))}
    </Table>
    <Pager href={olderHref("/audit", props.filters, props.page.nextCursor)} label="Older entries" />
  </Shell>
);

const OUTCOME_COLOURS: Record<AuditEntry["outcome"], string> = {
  success: "#059669",
  failure: "#dc2626",
  denied: "#b45309",
};

/** One UTC day of entries, newest first. */
interface TimelineDay {
  day: string;
  entries: AuditEntry[];
}

/** Groups entries (newest first) by their UTC day, keeping the order. */
export function byDay(entries: AuditEntry[]): TimelineDay[] {
  const days: TimelineDay[] = [];
  for (const entry of entries) {
    const day = entry.occurredAt.toISOString().slice(0, 10);
    const last = days[days.length - 1];
    if (last?.day === day) last.entries.push(entry);
    else days.push({ day, entries: [entry] });
  }
  return days;
}

/** A day as a 24-hour strip drawn on the server: one tick per entry at its time, coloured by outcome. */
const DayStrip = (props: { day: TimelineDay }) => {
  const width = 720;
  const height = 34;
  const axis = 22;
  const x = (date: Date) => {
    const seconds = date.getUTCHours() * 3600 + date.getUTCMinutes() * 60 + date.getUTCSeconds();
    return (seconds / 86_400) * width;
  };
  return (
    <svg
      class="strip"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`${props.day.entries.length} entries on ${props.day.day} across its 24 hours (UTC)`}
    >
      <line x1="0" y1={axis} x2={width} y2={axis} stroke="#d1d5db" />
      {[0, 6, 12, 18].map((hour) => (
        <text x={(hour / 24) * width + 2} y={height - 1} font-size="10" fill="#6b7280">
          {`${String(hour).padStart(2, "0")}:00`}
        </text>
      ))}
      {props.day.entries.map((entry) => (
        <rect x={x(entry.occurredAt)} y="4" width="2" height={axis - 4} fill={OUTCOME_COLOURS[entry.outcome]}>
          <title>{`${when(entry.occurredAt, true).slice(11)} ${entry.action} (${entry.outcome})`}</title>
        </rect>
      ))}
    </svg>
  );
};

/** The same filtered entries as the table, as days: a strip of the day's hours, then each entry with its time. */
export const AuditTimelinePage = (props: {
  frame: Frame;
  filters: AuditFilters;
  page: { data: AuditEntry[]; nextCursor: string | null };
}) => {
  const days = byDay(props.page.data);
  return (
    <Shell frame={props.frame} title="Audit log">
      <AuditFilterBar filters={props.filters} view="timeline" />
      {days.length === 0 ? <div class="empty">No entries match.</div> : null}
      {days.map((day) => (
        <section class="day" aria-label={day.day}>
          <h2>
            {day.day}{" "}
            <span class="muted">{day.entries.length === 1 ? "1 entry" : `${day.entries.length} entries`}</span>
          </h2>
          <DayStrip day={day} />
          <ol class="timeline">
            {day.entries.map((entry) => (
              <li class={entry.outcome}>
                <time datetime={entry.occurredAt.toISOString()}>{when(entry.occurredAt, true).slice(11)}</time>
                <div>
                  <code>{entry.action}</code> <span class="muted">{entry.outcome}</span>
                  <div class="muted">
                    by <Who entry={entry} /> · on <Target entry={entry} />
                  </div>
                </div>
              </li>
            ))}
          </ol>
        </section>
      ))}
      <Pager href={olderHref("/audit/timeline", props.filters, props.page.nextCursor)} label="Older entries" />
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
    <Shell frame={props.frame} title="Security events" notice={props.notice} scripts={["/assets/htmx.min.js"]}>
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
                <form
                  class="toolbar"
                  method="post"
                  action={`/security-events/${event.id}/resolve`}
                  {...inPlace(`/security-events/${event.id}/resolve`)}
                >
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
