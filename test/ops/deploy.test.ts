import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Metrics } from '../../src/metrics/index.js';
import { registerRecordsWaiting } from '../../src/records/metrics.js';
import type { RecordsSink } from '../../src/records/sink.js';
import { anchorsOf, metricNames, promtool, runPromtool } from './promql.js';

// The operations kit in deploy/: the alert rules, their unit tests, the scrape config and the Grafana
// dashboard, checked against promtool and against the metrics the code really exports.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PROMETHEUS_DIR = join(ROOT, 'deploy', 'prometheus');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  alert_rule_test?: { alertname: string; eval_time: string; exp_alerts: unknown[] }[];
}
interface Target {
  expr: string;
}
interface Panel {
  title: string;
  description?: string;
  targets?: Target[];
}

const rules = (parse(read('deploy/prometheus/alerts.yml')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (group) => group.rules,
);
const ruleTests = (parse(read('deploy/prometheus/alerts.test.yml')) as { tests: RuleTest[] }).tests;
const dashboard = JSON.parse(read('deploy/grafana/dashboards/fulfillment.json')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; query?: unknown; definition?: string }[] };
};

/** Metrics that other work adds: queried already, checked once the code exports them. None now. */
const PENDING: Record<string, string> = {};
/** Series that come from Prometheus itself, not from our code. */
const EXTERNAL: Record<string, string> = { up: "Prometheus's own: 1 per target scraped, 0 when it fails" };

/** Every series name a registry with every metric of ours exposes (histograms by their three series). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new Metrics({ sharedState: true, defaultMetrics: true });
  // The records gauge joins the API's registry when a records store runs (src/records/start.ts).
  registerRecordsWaiting(metrics.registry, { waiting: async () => 0 } as unknown as RecordsSink);
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram' || String(metric.type) === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    }
  }
  return names;
}

/** Dashboard expressions as PromQL: Grafana's variables replaced by what they stand for. */
function asPromql(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval/g, '5m').replace(/\$account/g, '.*');
}

const dashboardExprs = dashboard.panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel, expr: target.expr })),
);
const queried = [
  ...rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr, panel: null as Panel | null })),
  ...dashboardExprs.map(({ panel, expr }) => ({ where: `panel "${panel.title}"`, expr, panel })),
  ...dashboard.templating.list
    .filter((variable) => typeof variable.definition === 'string')
    .map((variable) => ({ where: `variable ${variable.name}`, expr: variable.definition!, panel: null })),
];

describe('the PromQL name reader', () => {
  it('finds metric names and nothing else', () => {
    expect(
      metricNames(
        'sum by (le, account) (rate(fulfillment_limiter_wait_seconds_bucket{account=~"$account"}[5m]))\n' +
          '/ on (account) max(fulfillment_account_rate_limit > 0) and on () vector(0) or absent(up{job="x"}) offset 5m',
      ).sort(),
    ).toEqual(['fulfillment_account_rate_limit', 'fulfillment_limiter_wait_seconds_bucket', 'up']);
    // label_values(metric, label): the metric is read, the label is not.
    expect(metricNames('label_values(fulfillment_account_rate_limit, account)')).toContain(
      'fulfillment_account_rate_limit',
    );
  });
});

describe('deploy/: every metric queried is one the code exports', () => {
  it('the alert rules, the dashboard panels and its variables', async () => {
    const exported = await exportedNames();
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const { where, expr, panel } of queried) {
      for (const name of metricNames(expr)) {
        if (name === 'account') continue; // label_values(metric, account): a label, not a metric
        seen.add(name);
        if (exported.has(name) || name in EXTERNAL) continue;
        if (name in PENDING) {
          // Not exported by this code yet: say so, and make sure the dashboard says so too.
          console.log(`deploy: skipped ${name} in ${where}: not exported yet (comes with ${PENDING[name]})`);
          if (panel) expect(panel.description, where).toMatch(new RegExp(`Not exported yet: .*${name}`));
          continue;
        }
        problems.push(`${where}: ${name}`);
      }
    }
    expect(problems, 'metrics queried that nothing exports').toEqual([]);
    // The reader really found the money and the gauges (a reader finding nothing would pass above).
    for (const name of [
      'fulfillment_coupons_spent_total',
      'fulfillment_unknown_charges_total',
      'fulfillment_upstream_calls_total',
      'fulfillment_account_rate_limit',
      'fulfillment_queue_jobs',
      'fulfillment_dead_letter_jobs',
      'fulfillment_redis_maxmemory_bytes',
      'fulfillment_records_waiting',
      'fulfillment_webhook_oldest_undelivered_seconds',
    ]) {
      expect(seen, name).toContain(name);
    }
  });

  it('shows what the issue asks for on the dashboard', () => {
    const text = dashboardExprs.map(({ expr }) => expr).join('\n');
    const titles = dashboard.panels.map((panel) => panel.title.toLowerCase()).join('\n');
    for (const what of ['throughput', 'limiter utilisation per account', 'retries', 'dead letters']) {
      expect(titles).toContain(what);
    }
    expect(text).toMatch(/sum by \(account\) \(increase\(fulfillment_coupons_spent_total/);
    expect(text).toContain('fulfillment_unknown_charges_total');
    expect(text).toContain('fulfillment_records_waiting');
    expect(text).toContain('fulfillment_webhook_oldest_undelivered_seconds');
    // The gauges every API process exports alike are never summed across processes.
    expect(text).not.toMatch(
      /sum[^(]*\((fulfillment_queue_jobs|fulfillment_dead_letter_jobs|fulfillment_account)/,
    );
    const ids = dashboard.panels.map((panel) => (panel as { id?: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("lays the panels out on Grafana's 24-column grid without overlap, each on the templated data source", () => {
    type Placed = Panel & {
      gridPos: { x: number; y: number; w: number; h: number };
      datasource: { uid: string };
    };
    const placed = dashboard.panels as Placed[];
    for (const panel of placed) {
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      // Grafana's variable syntax, not a template literal.
      expect(panel.datasource.uid, panel.title).toBe(['$', '{datasource}'].join(''));
    }
    for (const [i, a] of placed.entries()) {
      for (const b of placed.slice(i + 1)) {
        const apart =
          a.gridPos.x + a.gridPos.w <= b.gridPos.x ||
          b.gridPos.x + b.gridPos.w <= a.gridPos.x ||
          a.gridPos.y + a.gridPos.h <= b.gridPos.y ||
          b.gridPos.y + b.gridPos.h <= a.gridPos.y;
        expect(apart, `${a.title} / ${b.title}`).toBe(true);
      }
    }
    expect(dashboard.templating.list.map((variable) => variable.name)).toEqual(['datasource', 'account']);
  });
});

describe('deploy/prometheus: the alert rules', () => {
  it('every alert has a severity, a summary and a runbook that exists in docs/operations.md', () => {
    const anchors = anchorsOf(read('docs/operations.md'));
    expect(rules.length).toBeGreaterThanOrEqual(10);
    for (const rule of rules) {
      expect(['critical', 'warning', 'info'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      const runbook = rule.annotations?.runbook_url ?? '';
      const [path, anchor] = runbook.split('#');
      expect(path, rule.alert).toBe('docs/operations.md');
      expect(anchors, `${rule.alert}: #${anchor}`).toContain(anchor);
    }
  });

  it('every alert is unit-tested firing on synthetic series', () => {
    const firing = new Set(
      ruleTests.flatMap((test) =>
        (test.alert_rule_test ?? [])
          .filter((check) => check.exp_alerts.length > 0)
          .map((check) => check.alertname),
      ),
    );
    for (const rule of rules) expect(firing, rule.alert).toContain(rule.alert);
  });

  it('includes a Redis memory alert before maxmemory is reached', () => {
    const memory = rules.find((rule) => rule.expr.includes('fulfillment_redis_maxmemory_bytes > 0'));
    expect(memory?.expr).toMatch(/> 0\.[0-9]+$/);
  });

  const bin = promtool();
  if (bin === null) {
    console.log('deploy: promtool not installed (Debian package `prometheus`): promtool checks skipped');
  }

  it.skipIf(bin === null)('promtool check rules and promtool test rules pass', () => {
    expect(runPromtool(bin!, ['check', 'rules', 'alerts.yml'], PROMETHEUS_DIR)).toMatch(
      /SUCCESS: \d+ rules found/,
    );
    expect(runPromtool(bin!, ['test', 'rules', 'alerts.test.yml'], PROMETHEUS_DIR)).toMatch(/SUCCESS/);
  });

  it.skipIf(bin === null)('promtool test rules fails when an alert does not fire as its test says', () => {
    // The unit tests can fail: the same tests against rules whose thresholds can never be reached.
    const dir = mkdtempSync(join(tmpdir(), 'alerts-'));
    try {
      const broken = read('deploy/prometheus/alerts.yml').replace(
        'max(fulfillment_redis_up) == 0',
        'max(fulfillment_redis_up) == 2',
      );
      writeFileSync(join(dir, 'alerts.yml'), broken);
      writeFileSync(join(dir, 'alerts.test.yml'), read('deploy/prometheus/alerts.test.yml'));
      expect(() => runPromtool(bin!, ['test', 'rules', 'alerts.test.yml'], dir)).toThrow(
        /FulfillmentRedisDown/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(bin === null)('promtool check config passes on the scrape config', () => {
    expect(runPromtool(bin!, ['check', 'config', 'prometheus.yml'], PROMETHEUS_DIR)).toMatch(/is valid/);
  });

  it.skipIf(bin === null)('every dashboard query is valid PromQL (promtool, as recording rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
    try {
      const recording = dashboardExprs.map(({ expr }, index) => ({
        record: `dashboard:query_${index}`,
        expr: asPromql(expr),
      }));
      writeFileSync(
        join(dir, 'dashboard.yml'),
        JSON.stringify({ groups: [{ name: 'dashboard', rules: recording }] }),
      );
      expect(runPromtool(bin!, ['check', 'rules', 'dashboard.yml'], dir)).toMatch(
        new RegExp(`SUCCESS: ${recording.length} rules found`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  it('scrapes the API on its port and every worker replica on METRICS_PORT, with the rules loaded', () => {
    const config = parse(read('deploy/prometheus/prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    expect(config.rule_files).toEqual(['alerts.yml']);
    const jobs = Object.fromEntries(
      config.scrape_configs.map((job) => [job.job_name, job.dns_sd_configs[0]!]),
    );
    expect(jobs['fulfillment-api']).toMatchObject({ names: ['api'], port: 3000 });
    expect(jobs['fulfillment-workers']).toMatchObject({ names: ['worker-ship', 'worker-sync'], port: 9464 });
    // Every job matches the alerts' `up{job=~"fulfillment-.*"}`.
    for (const name of Object.keys(jobs)) expect(name).toMatch(/^fulfillment-/);
  });
});
