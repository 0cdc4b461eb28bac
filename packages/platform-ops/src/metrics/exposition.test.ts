import { describe, expect, test } from "bun:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { Counter, Gauge, Histogram, Registry } from "./exposition.ts";

describe("the Prometheus text writer", () => {
  test("writes counters, gauges and histograms that an independent parser reads back", () => {
    const registry = new Registry();
    const counter = registry.register(
      new Counter({ name: "t_total", help: "A counter\nover two lines", labelNames: ["route", "status"] }),
    );
    const gauge = registry.register(new Gauge({ name: "t_gauge", help: "A gauge" }));
    const histogram = registry.register(
      new Histogram({ name: "t_seconds", help: "A histogram", labelNames: ["route"], buckets: [0.5, 0.1, 1] }),
    );
    counter.inc({ route: '/a"b\\c\nd', status: "200" });
    counter.inc({ route: '/a"b\\c\nd', status: "200" }, 2);
    counter.inc({ route: "/x", status: "404" });
    gauge.set({}, 7);
    for (const seconds of [0.05, 0.2, 0.7, 3]) histogram.observe({ route: "/x" }, seconds);

    const text = registry.render();
    const families = Object.fromEntries(parsePrometheusTextFormat(text).map((family) => [family.name, family]));
    expect(families.t_total).toEqual({
      name: "t_total",
      help: "A counter\nover two lines",
      type: "COUNTER",
      metrics: [
        { labels: { route: '/a"b\\c\nd', status: "200" }, value: "3" },
        { labels: { route: "/x", status: "404" }, value: "1" },
      ],
    });
    expect(families.t_gauge?.metrics).toEqual([{ value: "7" }]);
    // Buckets are cumulative, sorted, and end with +Inf equal to the count.
    expect(families.t_seconds?.type).toBe("HISTOGRAM");
    expect(families.t_seconds?.metrics[0]?.buckets).toEqual({ "0.1": "1", "0.5": "2", "1": "3", "+Inf": "4" });
    expect(text).toContain('t_seconds_count{route="/x"} 4');
    expect(text).toContain('t_seconds_sum{route="/x"} 3.95');
    expect(text.endsWith("\n")).toBe(true);
  });

  test("a counter never goes down; a gauge's series can be cleared", () => {
    const counter = new Counter({ name: "c_total", help: "c" });
    expect(() => counter.inc({}, -1)).toThrow(RangeError);
    const gauge = new Gauge({ name: "g", help: "g", labelNames: ["state"] });
    gauge.set({ state: "queued" }, 3);
    gauge.reset();
    expect(gauge.render()).toBe("# HELP g g\n# TYPE g gauge");
  });
});
