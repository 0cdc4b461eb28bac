import { sql } from "drizzle-orm";
import { COUNTERS, jobCounts, queryRows, type CounterName, type Database, type Metrics } from "@burrow/platform-core";
import { Counter, EXPOSITION_CONTENT_TYPE, Gauge, Histogram, Registry } from "./exposition.ts";

export interface PrometheusMetrics {
  /** The port the packages count through (`createAuth({ metrics })`, `createRbac`, `createEmail`, …). */
  metrics: Metrics;
  /** One HTTP request: by route template (never the raw path), method and status. */
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  /** The text format Prometheus scrapes, with the job queue's depth read now. */
  render(): Promise<string>;
  contentType: string;
}

/**
 * Burrow's metrics on a registry of their own (a builder's default registry is left alone): the
 * counters declared in core's COUNTERS, HTTP requests, the job queue by type and state (read from
 * the database at each scrape, so every node reports the same queue), and the database pool.
 */
export function createPrometheusMetrics(options: { db: Database }): PrometheusMetrics {
  const registry = new Registry();
  const counters = Object.fromEntries(
    Object.entries(COUNTERS).map(([name, spec]) => [
      name,
      registry.register(new Counter({ name: `burrow_${name}`, help: spec.help, labelNames: spec.labels })),
    ]),
  ) as Record<CounterName, Counter>;
  const requests = registry.register(
    new Counter({
      name: "burrow_http_requests_total",
      help: "HTTP requests by route template, method and status",
      labelNames: ["route", "method", "status"],
    }),
  );
  const latency = registry.register(
    new Histogram({
      name: "burrow_http_request_duration_seconds",
      help: "HTTP request latency by route template and method",
      labelNames: ["route", "method"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
  );
  const queue = registry.register(
    new Gauge({
      name: "burrow_jobs",
      help: "Jobs in the queue by type and state (queued, running, dead), read at scrape",
      labelNames: ["type", "state"],
    }),
  );
  const connections = registry.register(
    new Gauge({
      name: "burrow_db_connections",
      help: "Connections open to this database, from every node (pg_stat_activity; 0 on the embedded database)",
    }),
  );

  const requestSeries = new Map<
    string,
    Map<string, Map<number, { count: { inc(): void }; latency: { observe(seconds: number): void } }>>
  >();

  return {
    metrics: {
      count: (name, labels, by = 1) => counters[name].inc(labels as Record<string, string>, by),
    },
    observeRequest(route, method, status, seconds) {
      // The series of each (route, method, status), found once: every request records both.
      let byMethod = requestSeries.get(route);
      if (byMethod === undefined) requestSeries.set(route, (byMethod = new Map()));
      let byStatus = byMethod.get(method);
      if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
      let series = byStatus.get(status);
      if (series === undefined) {
        series = {
          count: requests.one({ route, method, status: String(status) }),
          latency: latency.one({ route, method }),
        };
        byStatus.set(status, series);
      }
      series.count.inc();
      series.latency.observe(seconds);
    },
    async render() {
      queue.reset();
      for (const row of await jobCounts(options.db)) queue.set({ type: row.type, state: row.state }, row.count);
      const [open] = await queryRows<{ count: number | string }>(
        options.db,
        sql`select count(*) as count from pg_stat_activity where datname = current_database()`,
      );
      connections.set({}, Number(open?.count ?? 0));
      return registry.render();
    },
    contentType: EXPOSITION_CONTENT_TYPE,
  };
}
