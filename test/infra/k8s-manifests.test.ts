// infra/k8s rendered offline with `kubectl kustomize` (as CI does) and checked for the invariants a deploy
// depends on: probes on the right ports, a grace period longer than the worker's drain, MALLOC_ARENA_MAX,
// resources, disruption budgets, and exactly one autoscaler on the right signal per overlay.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { envSchema } from '@labelq/config';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../fixtures/index.ts';

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  ports?: { name: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}
interface Resource {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { containers: Container[]; terminationGracePeriodSeconds?: number };
}

function render(dir: string): Resource[] {
  const text = execFileSync('kubectl', ['kustomize', join(repoRoot, 'infra', 'k8s', dir)], {
    encoding: 'utf8',
  });
  return parseAllDocuments(text).map((d) => d.toJS() as Resource);
}

function one(resources: Resource[], kind: string, name: string): Resource {
  const found = resources.filter((r) => r.kind === kind && r.metadata.name === name);
  expect(found, `${kind}/${name}`).toHaveLength(1);
  return found[0]!;
}

const podTemplate = (d: Resource): PodTemplate => (d.spec as { template: PodTemplate }).template;

describe.each([
  ['production', 'keda'],
  ['production-hpa', 'hpa'],
] as const)('infra/k8s/overlays/%s', (overlay, scaler) => {
  const resources = render(`overlays/${overlay}`);
  const config = one(resources, 'ConfigMap', 'labelq-config').data ?? {};
  const shutdownMs = Number(config.SHUTDOWN_TIMEOUT_MS ?? 30_000);

  it('puts everything in one namespace and configures only variables labelq knows', () => {
    const namespaced = resources.filter((r) => r.kind !== 'Namespace');
    expect(new Set(namespaced.map((r) => r.metadata.namespace))).toEqual(new Set(['labelq']));
    const known = new Set(Object.keys(envSchema.shape));
    expect(Object.keys(config).filter((k) => !known.has(k))).toEqual([]);
  });

  it.each([
    ['labelq-api', 'API_PORT', 'http'],
    ['labelq-worker', 'WORKER_HTTP_PORT', 'metrics'],
  ])(
    '%s: probes on its HTTP port, config and secret wired, resources, MALLOC_ARENA_MAX',
    (name, portVar, portName) => {
      const template = podTemplate(one(resources, 'Deployment', name));
      const c = template.spec.containers[0];
      expect(c).toBeDefined();
      expect(c!.ports?.find((p) => p.name === portName)?.containerPort).toBe(Number(config[portVar]));
      expect(c!.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: portName });
      expect(c!.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: portName });
      expect(c!.envFrom).toEqual([
        { configMapRef: { name: 'labelq-config' } },
        { secretRef: { name: 'labelq-secrets' } },
      ]);
      expect(c!.env).toContainEqual({ name: 'MALLOC_ARENA_MAX', value: '2' });
      expect(c!.resources?.requests?.cpu).toBeDefined();
      expect(c!.resources?.requests?.memory).toBeDefined();
      expect(c!.resources?.limits?.memory).toBeDefined();
    },
  );

  it('gives pods a termination grace period longer than SHUTDOWN_TIMEOUT_MS (the worker drains first)', () => {
    for (const name of ['labelq-api', 'labelq-worker']) {
      const grace = podTemplate(one(resources, 'Deployment', name)).spec.terminationGracePeriodSeconds;
      expect((grace ?? 30) * 1000, name).toBeGreaterThan(shutdownMs);
    }
    const worker = podTemplate(one(resources, 'Deployment', 'labelq-worker')).spec.containers[0];
    // Model loading: the startup probe holds liveness off until the process answers.
    expect(worker?.startupProbe?.httpGet?.port).toBe('metrics');
  });

  it('has a disruption budget selecting each deployment', () => {
    for (const name of ['labelq-api', 'labelq-worker']) {
      const labels = podTemplate(one(resources, 'Deployment', name)).metadata.labels;
      const pdb = one(resources, 'PodDisruptionBudget', name).spec as {
        selector: { matchLabels: Record<string, string> };
      };
      expect(Object.keys(pdb.selector.matchLabels).length).toBeGreaterThan(0);
      for (const [k, v] of Object.entries(pdb.selector.matchLabels))
        expect(labels[k], `${name} ${k}`).toBe(v);
    }
  });

  it(`scales the workers with ${scaler === 'keda' ? 'KEDA on the queue depth' : 'a CPU HPA'}, and with nothing else`, () => {
    const scaledObjects = resources.filter((r) => r.kind === 'ScaledObject');
    const hpas = resources.filter((r) => r.kind === 'HorizontalPodAutoscaler');
    if (scaler === 'keda') {
      expect(hpas).toEqual([]);
      const so = one(resources, 'ScaledObject', 'labelq-worker').spec as {
        scaleTargetRef: { name: string };
        triggers: { type: string; metadata: Record<string, string>; authenticationRef: { name: string } }[];
      };
      expect(so.scaleTargetRef.name).toBe('labelq-worker');
      expect(so.triggers).toHaveLength(1);
      const t = so.triggers[0]!;
      expect(t.type).toBe('metrics-api');
      expect(t.metadata.valueLocation).toBe('depth');
      const url = new URL(t.metadata.url!);
      expect(url.pathname).toBe('/v1/queue/depth');
      expect(url.port).toBe(config.API_PORT);
      expect(url.hostname).toBe('labelq-api.labelq.svc');
      expect(t.metadata.authMode).toBe('bearer');
      one(resources, 'TriggerAuthentication', t.authenticationRef.name);
    } else {
      expect(scaledObjects).toEqual([]);
      const hpa = one(resources, 'HorizontalPodAutoscaler', 'labelq-worker').spec as {
        scaleTargetRef: { kind: string; name: string };
      };
      expect(hpa.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'labelq-worker' });
    }
  });
});
