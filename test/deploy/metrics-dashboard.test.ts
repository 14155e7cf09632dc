/**
 * deploy/grafana/pixelshift.json and deploy/prometheus/alerts.yml query only metrics the service exports,
 * the alerts file is a well-formed Prometheus rules file, and docs/operations.md lists every metric.
 * The exported names come from real scrapes: the API app's /metrics and an in-process worker's (its
 * registry and the Temporal SDK's exporter, served as `pixelshift worker` serves them), plus the SDK
 * metrics Temporal documents, which appear in a scrape only once something has happened to them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { parse as parseYaml } from 'yaml';
import { installTemporalRuntime } from '../../src/temporal/worker/runtime.js';
import { startMetricsEndpoint, type MetricsEndpoint } from '../../src/temporal/worker/metrics-endpoint.js';
import { freePort } from '../../src/tools/ports.js';
import { scrape } from '../support/prometheus-text.js';
import { startStack, type Stack } from '../support/stack.js';

/**
 * The Core SDK's metrics in Temporal's SDK metrics reference (TypeScript, Python and .NET share them),
 * with their types; the worker exports them prefixed `temporal_`.
 */
const documentedSdkMetrics: Record<string, 'counter' | 'gauge' | 'histogram'> = {
  activity_execution_cancelled: 'counter',
  activity_execution_failed: 'counter',
  activity_execution_latency: 'histogram',
  activity_poll_no_task: 'counter',
  activity_schedule_to_start_latency: 'histogram',
  activity_succeed_endtoend_latency: 'histogram',
  activity_task_received: 'counter',
  local_activity_execution_cancelled: 'counter',
  local_activity_execution_failed: 'counter',
  local_activity_execution_latency: 'histogram',
  local_activity_succeed_endtoend_latency: 'histogram',
  local_activity_total: 'counter',
  long_request: 'counter',
  long_request_failure: 'counter',
  long_request_latency: 'histogram',
  num_pollers: 'gauge',
  request: 'counter',
  request_failure: 'counter',
  request_latency: 'histogram',
  sticky_cache_hit: 'counter',
  sticky_cache_miss: 'counter',
  sticky_cache_size: 'gauge',
  sticky_cache_total_forced_eviction: 'counter',
  worker_start: 'counter',
  worker_task_slots_available: 'gauge',
  worker_task_slots_used: 'gauge',
  workflow_cancelled: 'counter',
  workflow_completed: 'counter',
  workflow_continue_as_new: 'counter',
  workflow_endtoend_latency: 'histogram',
  workflow_failed: 'counter',
  workflow_task_execution_failed: 'counter',
  workflow_task_execution_latency: 'histogram',
  workflow_task_queue_poll_empty: 'counter',
  workflow_task_queue_poll_succeed: 'counter',
  workflow_task_replay_latency: 'histogram',
  workflow_task_schedule_to_start_latency: 'histogram',
};

function documentedSdkNames(): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of Object.entries(documentedSdkMetrics)) {
    names.add(`temporal_${name}`);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`temporal_${name}${suffix}`);
  }
  return names;
}

/** PromQL's functions, aggregations, keywords and modifiers: every other identifier in a query is a metric. */
const promqlWords = new Set(
  (
    'sum min max avg count stddev stdvar topk bottomk quantile count_values group by without on ignoring ' +
    'group_left group_right bool and or unless offset rate irate increase delta idelta deriv ' +
    'histogram_quantile clamp clamp_min clamp_max abs absent absent_over_time ceil floor round ' +
    'label_replace label_join vector scalar time timestamp sort sort_desc sum_over_time avg_over_time ' +
    'max_over_time min_over_time count_over_time last_over_time changes resets predict_linear inf nan'
  ).split(' '),
);

/** The metric names a PromQL expression selects (label matchers, grouping labels, ranges and strings left out). */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ')
    // Numbers, durations and exponents (`0.95`, `5m`, `1e-9`).
    .replace(/\b\d+(\.\d+)?([eE][+-]?\d+)?[a-z]*\b/g, ' ');
  const words = bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(words.filter((word) => !promqlWords.has(word.toLowerCase())))];
}

interface GrafanaPanel {
  title?: string;
  type: string;
  targets?: { expr?: string }[];
  panels?: GrafanaPanel[];
}

function dashboardQueries(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync('deploy/grafana/pixelshift.json', 'utf8')) as {
    panels: GrafanaPanel[];
    templating: { list: { name: string; query?: unknown }[] };
  };
  const queries: { where: string; expr: string }[] = [];
  const walk = (panels: GrafanaPanel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr) queries.push({ where: `panel "${panel.title}"`, expr: target.expr });
      }
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    const query = variable.query as { query?: string } | string | undefined;
    const text = typeof query === 'string' ? query : query?.query;
    const selected = /^label_values\((\w+),/.exec(text ?? '');
    if (selected) queries.push({ where: `variable ${variable.name}`, expr: selected[1]! });
  }
  return queries;
}

interface RuleFile {
  groups: { name: string; rules: Record<string, unknown>[] }[];
}

function alertRules(): RuleFile {
  return parseYaml(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as RuleFile;
}

describe('the Grafana dashboard and the Prometheus alerts', () => {
  let stack: Stack;
  let worker: MetricsEndpoint;
  const exported = new Set<string>();
  const families = new Set<string>();

  before(async () => {
    // As `pixelshift worker` does: the SDK's exporter on loopback, served with the worker's registry.
    const sdkAddress = `127.0.0.1:${await freePort()}`;
    installTemporalRuntime({ level: 'ERROR', sdkMetricsAddress: sdkAddress });
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    stack = await startStack({ workerMetrics: registry });
    worker = await startMetricsEndpoint({ address: '127.0.0.1:0', registry, sdkAddress });
    for (const url of [`${stack.server.url}/metrics`, worker.url]) {
      const metrics = await scrape(url);
      for (const name of metrics.names) exported.add(name);
      for (const name of metrics.types.keys()) families.add(name);
    }
  });
  after(async () => {
    await worker?.close();
    await stack?.close();
  });

  test('when the worker and the API are scraped, then both answer with their own metrics and the worker with the SDK’s', () => {
    for (const name of [
      'pixelshift_http_requests_total',
      'pixelshift_trigger_events_total',
      'pixelshift_graphs_total',
      'pixelshift_throttle_slots_used',
      'pixelshift_worker_sdk_metrics_up',
      'temporal_worker_task_slots_available',
      'temporal_num_pollers',
    ]) {
      assert.ok(exported.has(name), name);
    }
  });

  test('when the dashboard’s queries are read, then every metric they name is one the service exports', () => {
    const known = new Set([...exported, ...documentedSdkNames()]);
    const queries = dashboardQueries();
    assert.ok(queries.length >= 30, `only ${queries.length} queries`);
    const unknown = queries.flatMap(({ where, expr }) =>
      metricNamesIn(expr)
        .filter((name) => !known.has(name))
        .map((name) => `${where}: ${name}`),
    );
    assert.deepEqual(unknown, []);
  });

  test('when the alert rules are read, then every metric they name is one the service exports', () => {
    const known = new Set([...exported, ...documentedSdkNames()]);
    const unknown = alertRules().groups.flatMap((group) =>
      group.rules.flatMap((rule) =>
        metricNamesIn(String(rule.expr))
          .filter((name) => !known.has(name))
          .map((name) => `${String(rule.alert)}: ${name}`),
      ),
    );
    assert.deepEqual(unknown, []);
  });

  test('when alerts.yml is parsed, then it is a Prometheus rules file: named groups of alerts with an expression, a duration, a severity and a summary', () => {
    const file = alertRules();
    assert.deepEqual(Object.keys(file), ['groups']);
    const duration = /^(\d+(ms|s|m|h|d|w|y))+$/;
    const groupNames = new Set<string>();
    const alertNames = new Set<string>();
    for (const group of file.groups) {
      assert.equal(typeof group.name, 'string');
      assert.ok(!groupNames.has(group.name), `group ${group.name} twice`);
      groupNames.add(group.name);
      assert.ok(Array.isArray(group.rules) && group.rules.length > 0, group.name);
      for (const rule of group.rules) {
        const name = String(rule.alert);
        assert.match(name, /^[A-Za-z_][A-Za-z0-9_]*$/);
        assert.ok(!alertNames.has(name), `alert ${name} twice`);
        alertNames.add(name);
        const unknownKeys = Object.keys(rule).filter(
          (key) => !['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(key),
        );
        assert.deepEqual(unknownKeys, [], name);
        assert.equal(typeof rule.expr, 'string', name);
        assert.ok(metricNamesIn(rule.expr as string).length > 0, name);
        assert.equal(balance(rule.expr as string), 0, `${name}: unbalanced parentheses`);
        if (rule.for !== undefined) {
          assert.equal(typeof rule.for, 'string', name);
          assert.match(rule.for as string, duration, name);
        }
        const labels = rule.labels as Record<string, unknown>;
        assert.ok(['critical', 'warning', 'info'].includes(String(labels.severity)), name);
        const annotations = rule.annotations as Record<string, unknown>;
        assert.equal(typeof annotations.summary, 'string', name);
        assert.equal(typeof annotations.description, 'string', name);
        for (const value of [...Object.values(labels), ...Object.values(annotations)]) {
          assert.equal(typeof value, 'string', name);
        }
      }
    }
    // What issue 16 asks the alerts to cover.
    for (const covered of [
      'pixelshift_throttle_overdue_graphs',
      'pixelshift_webhook_attempts_total',
      'pixelshift_webhook_deliveries_total',
      'temporal_activity_schedule_to_start_latency_bucket',
      'temporal_workflow_task_schedule_to_start_latency_bucket',
      'pixelshift_graphs_total',
      'pixelshift_http_requests_total',
    ]) {
      const rules = file.groups.flatMap((group) => group.rules);
      assert.ok(
        rules.some((rule) => metricNamesIn(String(rule.expr)).includes(covered)),
        `no alert on ${covered}`,
      );
    }
  });

  test('when docs/operations.md is read, then its Metrics section lists every pixelshift metric the service exports, and no other', () => {
    const page = readFileSync('docs/operations.md', 'utf8');
    // The "Metrics" section, up to the next section of the same level.
    const start = page.indexOf('\n## Metrics\n');
    assert.ok(start >= 0, 'docs/operations.md has no Metrics section');
    const end = page.indexOf('\n## ', start + 1);
    const docs = page.slice(start, end === -1 ? undefined : end);
    const listed = new Set(docs.match(/\bpixelshift_[a-z0-9_]+/g) ?? []);
    const ours = [...families].filter((name) => name.startsWith('pixelshift_'));
    assert.deepEqual(
      ours.filter((name) => !listed.has(name)),
      [],
      'exported but not in docs/operations.md',
    );
    const known = new Set([...exported, ...documentedSdkNames()]);
    const temporal = new Set(docs.match(/\btemporal_[a-z0-9_]+/g) ?? []);
    assert.deepEqual(
      [...listed, ...temporal].filter((name) => !known.has(name)),
      [],
      'in docs/operations.md but not exported',
    );
  });
});

function balance(expr: string): number {
  let depth = 0;
  for (const char of expr) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (depth < 0) return depth;
  }
  return depth;
}

test('metricNamesIn finds the metrics of a query and nothing else', () => {
  assert.deepEqual(
    metricNamesIn(
      'histogram_quantile(0.95, sum by (le, task_queue) (rate(temporal_activity_schedule_to_start_latency_bucket{job=~"$job",x="a{b}"}[5m]))) > 60 and on(instance) up_metric offset 5m / clamp_min(x_total, 1e-9)',
    ),
    ['temporal_activity_schedule_to_start_latency_bucket', 'up_metric', 'x_total'],
  );
});
