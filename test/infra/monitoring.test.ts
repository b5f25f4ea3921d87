// infra/monitoring: every metric the alert rules and the Grafana dashboard query is one labelq exports (or
// prom-client's defaults), and every alert links a runbook that exists.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../fixtures/index.ts';

const read = (...p: string[]) => readFileSync(join(repoRoot, ...p), 'utf8');

/** Metric names the services define (`name: 'labelq_…'` and the API's queue gauges), with histogram series. */
function exported(): Set<string> {
  const sources = [
    read('services', 'worker', 'src', 'metrics.ts'),
    read('services', 'api', 'src', 'metrics', 'api-metrics.ts'),
  ].join('\n');
  const names = new Set<string>();
  for (const m of sources.matchAll(/'(labelq_[a-z_]+)'/g)) {
    const name = m[1]!;
    for (const suffix of ['', '_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:labelq|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1]!);
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; runbook_url: string };
}

describe('infra/monitoring', () => {
  const known = exported();
  const rules = (
    parse(read('infra', 'monitoring', 'alerts.yaml')) as { groups: { rules: Rule[] }[] }
  ).groups.flatMap((g) => g.rules);
  const operations = read('docs', 'operations.md');

  it.each(rules.map((r) => [r.alert, r] as const))(
    'alert %s queries exported metrics and links its runbook',
    (_n, rule) => {
      const names = metricNames(rule.expr);
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((n) => !known.has(n))).toEqual([]);
      expect(['page', 'warning', 'info']).toContain(rule.labels.severity);
      expect(rule.annotations.runbook_url).toBe(`docs/operations.md#${rule.alert.toLowerCase()}`);
      expect(operations).toContain(`### ${rule.alert}\n`);
    },
  );

  it('covers backlog age, failure rate, stalled jobs, index lag, an S3 outage and dead webhooks', () => {
    const all = rules.map((r) => r.expr).join('\n');
    for (const m of [
      'labelq_queue_oldest_waiting_age_seconds',
      'labelq_worker_job_failures_total',
      'labelq_worker_stalled_jobs_total',
      'labelq_index_backlog_jobs',
      'labelq_worker_circuit_breaker_open',
      'labelq_worker_webhook_deliveries_total',
    ]) {
      expect(all).toContain(m);
    }
  });

  it('the Grafana dashboard queries only exported metrics', () => {
    const dashboard = JSON.parse(read('infra', 'monitoring', 'grafana-dashboard.json')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThan(10);
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        const unknown = metricNames(t.expr).filter((n) => !known.has(n) && !n.startsWith('nodejs_'));
        expect(unknown, `${p.title}: ${t.expr}`).toEqual([]);
      }
    }
  });
});
