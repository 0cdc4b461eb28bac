// The counters Burrow's packages keep, declared once. Packages count through the `Metrics` port;
// platform-ops implements it (its own small Prometheus text writer) and serves /metrics. Without it, counting costs nothing.

/** Every counter, with its help text and label names (Prometheus: `burrow_<name>`). */
export const COUNTERS = {
  audit_events_total: { help: "Audit entries written, by action and outcome", labels: ["action", "outcome"] },
  sign_ins_total: {
    help: "Sign-ins by first method and outcome (success, failure, denied)",
    labels: ["method", "outcome"],
  },
  sessions_validated_total: { help: "Session credentials checked, by outcome (valid, invalid)", labels: ["outcome"] },
  permission_cache_total: { help: "Permission look-ups, by result (hit, miss)", labels: ["result"] },
  session_cache_total: { help: "Session cache look-ups, by result (hit, miss)", labels: ["result"] },
  emails_total: { help: "Emails sent or failed, by outcome (sent, retry, dead)", labels: ["outcome"] },
  webhook_deliveries_total: {
    help: "Webhook delivery attempts, by outcome (succeeded, retried, failed)",
    labels: ["outcome"],
  },
  jobs_run_total: { help: "Job runs, by type and outcome (succeeded, retried, dead)", labels: ["type", "outcome"] },
} as const satisfies Record<string, { help: string; labels: readonly string[] }>;

export type CounterName = keyof typeof COUNTERS;
export type CounterLabels<N extends CounterName> = Record<(typeof COUNTERS)[N]["labels"][number], string>;

export interface Metrics {
  count<N extends CounterName>(name: N, labels: CounterLabels<N>, by?: number): void;
}

/** Counts nothing: the default where no metrics are wired. */
export const NO_METRICS: Metrics = { count() {} };
