import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createApp } from "@burrow/platform-http";
import { createTestApi, readProblem, signIn, signUpUser, type TestApi } from "./helpers.ts";

const TOKEN = "metrics-token-for-the-test-0123456789";

describe("/metrics", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await createTestApi({ BURROW_METRICS_TOKEN: TOKEN });
  });
  afterAll(() => api.close());
  const scrape = async (): Promise<string> => {
    const response = await api.request("/metrics", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    return response.text();
  };
  /** The value of one series, or 0 when it has not been counted. */
  const value = (text: string, series: string): number => {
    const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.slice(series.length + 1));
  };

  test("needs the bearer token when one is configured", async () => {
    const missing = await api.request("/metrics");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toContain("Bearer");
    expect((await readProblem(missing)).code).toBe("unauthenticated");
    expect(
      (await api.request("/metrics", { headers: { authorization: "Bearer wrong-token-0123456789" } })).status,
    ).toBe(401);
  });

  test("is off in production without a token", async () => {
    const production = createApp({
      ...api.platform,
      config: { ...api.config, env: "production", metricsToken: undefined },
    });
    const response = await production.request("/metrics");
    expect(response.status).toBe(404);
  });

  test("counts sign-ins by method and outcome, sessions validated, and requests by route template", async () => {
    const ada = await signUpUser(api);
    const before = await scrape();
    expect((await signIn(api, ada.email, ada.password)).status).toBe(200);
    expect((await signIn(api, ada.email, "not the password")).status).toBe(401);
    expect((await api.request("/v1/me", { headers: ada.bearer })).status).toBe(200);
    expect((await api.request("/v1/me", { headers: { authorization: "Bearer ses_nope.nope" } })).status).toBe(401);
    const orgId = "org_0000000000000000000000abcd";
    expect((await api.request(`/v1/orgs/${orgId}`, { headers: ada.bearer })).status).toBe(404);
    expect((await api.request("/no/such/secret-path")).status).toBe(404);
    const after = await scrape();

    const delta = (series: string) => value(after, series) - value(before, series);
    expect(delta('burrow_sign_ins_total{method="password",outcome="success"}')).toBe(1);
    expect(delta('burrow_sign_ins_total{method="password",outcome="failure"}')).toBe(1);
    expect(delta('burrow_sessions_validated_total{outcome="valid"}')).toBeGreaterThanOrEqual(2);
    expect(delta('burrow_sessions_validated_total{outcome="invalid"}')).toBeGreaterThanOrEqual(1);
    expect(delta('burrow_http_requests_total{route="/v1/auth/sign-in",method="POST",status="200"}')).toBe(1);
    expect(delta('burrow_http_requests_total{route="/v1/auth/sign-in",method="POST",status="401"}')).toBe(1);
    expect(delta('burrow_http_requests_total{route="/v1/orgs/:orgId",method="GET",status="404"}')).toBe(1);
    expect(delta('burrow_http_requests_total{route="unmatched",method="GET",status="404"}')).toBe(1);
    expect(value(after, 'burrow_http_request_duration_seconds_count{route="/v1/me",method="GET"}')).toBeGreaterThan(0);
    // Never a raw path, id or address as a label value.
    for (const leaked of [orgId, "secret-path", ada.email, ada.id]) expect(after).not.toContain(leaked);
    expect(value(after, 'burrow_permission_cache_total{result="miss"}')).toBeGreaterThan(0);
  });

  test("shows the queue by type and state at scrape, and emails and job runs by outcome", async () => {
    const grace = await signUpUser(api);
    expect(
      (await api.request("/v1/auth/password/forgot", { method: "POST", json: { email: grace.email } })).status,
    ).toBe(202);
    const queued = await scrape();
    // The request is answered at once; the work (and the mail) is a job.
    expect(value(queued, 'burrow_jobs{type="auth.email_request",state="queued"}')).toBe(1);
    const sentBefore = value(queued, 'burrow_emails_total{outcome="sent"}');
    await api.runJobs();
    const after = await scrape();
    expect(value(after, 'burrow_jobs{type="auth.email_request",state="queued"}')).toBe(0);
    expect(value(after, 'burrow_emails_total{outcome="sent"}')).toBeGreaterThan(sentBefore);
    expect(value(after, 'burrow_jobs_run_total{type="email.send",outcome="succeeded"}')).toBeGreaterThan(0);
    // PGlite has no other backends to list; PostgreSQL counts this node's pool at least.
    expect(after).toMatch(/^burrow_db_connections \d+$/m);
    if (api.database.driver === "postgres") expect(value(after, "burrow_db_connections")).toBeGreaterThanOrEqual(1);
    expect(after).toContain("# HELP burrow_audit_events_total");
  });
});
