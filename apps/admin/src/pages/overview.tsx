import type { DailyActivity, OverviewSummary } from "@burrow/platform-ops";
import { type Frame, Shell, Solo } from "../layout.tsx";

const SERIES = [
  { key: "signUps", label: "Sign-ups", color: "#4f46e5" },
  { key: "signIns", label: "Sign-ins", color: "#059669" },
  { key: "failedSignIns", label: "Failed sign-ins", color: "#dc2626" },
] as const;

/** Sign-ups, sign-ins and failures per day as grouped bars, drawn on the server (no script). */
export const ActivityChart = (props: { days: DailyActivity[] }) => {
  const width = 720;
  const height = 220;
  const left = 40;
  const bottom = 24;
  const top = 12;
  const plot = height - bottom - top;
  const max = Math.max(1, ...props.days.flatMap((day) => SERIES.map((series) => day[series.key])));
  const group = (width - left) / Math.max(props.days.length, 1);
  const bar = Math.max(2, (group - 6) / SERIES.length);
  const summary = SERIES.map(
    (series) => `${series.label}: ${props.days.reduce((sum, day) => sum + day[series.key], 0)}`,
  ).join(", ");
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`Per day over the last ${props.days.length} days. ${summary}`}
      >
        <line x1={left} y1={top} x2={left} y2={top + plot} stroke="#d1d5db" />
        <line x1={left} y1={top + plot} x2={width} y2={top + plot} stroke="#d1d5db" />
        <text x={left - 6} y={top + 4} text-anchor="end" font-size="11" fill="#6b7280">
          {max}
        </text>
        <text x={left - 6} y={top + plot} text-anchor="end" font-size="11" fill="#6b7280">
          0
        </text>
        {props.days.map((day, index) => {
          const x = left + index * group + 3;
          return (
            <g>
              {SERIES.map((series, position) => {
                const value = day[series.key];
                const h = (value / max) * plot;
                return (
                  <rect x={x + position * bar} y={top + plot - h} width={bar - 1} height={h} fill={series.color}>
                    <title>{`${day.day} ${series.label}: ${value}`}</title>
                  </rect>
                );
              })}
              {index % 2 === props.days.length % 2 ? null : (
                <text x={x + (group - 6) / 2} y={height - 6} text-anchor="middle" font-size="11" fill="#6b7280">
                  {day.day.slice(5)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        {SERIES.map((series) => (
          <span>
            <i class={`swatch ${series.key}`} /> {series.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
};

const Stat = (props: { label: string; value: number | string; href?: string }) => (
  <div class="card">
    <div class="muted">{props.label}</div>
    <div class="stat">{props.href === undefined ? props.value : <a href={props.href}>{props.value}</a>}</div>
  </div>
);

export const OverviewPage = (props: { frame: Frame; summary: OverviewSummary }) => {
  const { users, activity, openSecurityEvents, queue } = props.summary;
  const jobs = (state: string) =>
    queue.jobs.filter((job) => job.state === state).reduce((sum, job) => sum + job.count, 0);
  return (
    <Shell frame={props.frame} title="Overview">
      <div class="cards">
        {users === null ? null : (
          <>
            <Stat label="Active users" value={users.byStatus.active} href="/users?status=active" />
            <Stat label="Suspended" value={users.byStatus.suspended} href="/users?status=suspended" />
            <Stat label="Invited, not set up" value={users.byStatus.invited} href="/users?status=invited" />
            <Stat label="Live sessions" value={users.liveSessions} />
          </>
        )}
        {openSecurityEvents === null ? null : (
          <Stat label="Open security events" value={openSecurityEvents} href="/security-events" />
        )}
      </div>
      {activity === null ? null : (
        <>
          <h2>Sign-ups and sign-ins, last {activity.length} days (UTC)</h2>
          <div class="card">
            <ActivityChart days={activity} />
          </div>
        </>
      )}
      <h2>Queue</h2>
      <div class="cards">
        <Stat label="Emails queued" value={queue.emails.queued + queue.emails.sending} />
        <Stat label="Emails failed, retrying" value={queue.emails.failed} />
        <Stat label="Emails dead" value={queue.emails.dead} />
        <Stat label="Jobs queued" value={jobs("queued") + jobs("running")} />
        <Stat label="Jobs dead" value={jobs("dead")} />
      </div>
      {queue.jobs.length === 0 ? null : (
        <table>
          <thead>
            <tr>
              <th scope="col">Job type</th>
              <th scope="col">State</th>
              <th scope="col">Jobs</th>
            </tr>
          </thead>
          <tbody>
            {queue.jobs.map((job) => (
              <tr>
                <td>
                  <code>{job.type}</code>
                </td>
                <td>{job.state}</td>
                <td>{job.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Shell>
  );
};

/** A refusal or a failure; `back` is the console page the refused form was posted from, if known. */
export const ErrorPage = (props: { status: number; message: string; back?: string }) => (
  <Solo title={props.status === 404 ? "Not found" : props.status === 403 ? "Not allowed" : "That did not work"}>
    <p>{props.message}</p>
    <p>{props.back === undefined ? <a href="/">Back to the console</a> : <a href={props.back}>Back to the page</a>}</p>
  </Solo>
);
