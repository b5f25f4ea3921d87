import type { Config } from '@labelq/config';
import type { InferencePool } from '@labelq/inference';
import { createWorkerConnection } from '@labelq/queue';
import type { ObjectStore } from '@labelq/storage';
import type { CircuitBreaker } from './circuit-breaker.ts';
import type { WorkerReadinessCheck } from './http.ts';

export interface ReadinessDeps {
  config: Config;
  pool: InferencePool;
  store: ObjectStore;
  isDraining(): boolean;
  /** Dependency breakers: while one is open the worker takes no work, so it is not ready. */
  breakers?: readonly CircuitBreaker[];
}

/**
 * The worker's readiness: pool threads up with models loaded, Redis answering, the results bucket reachable,
 * not draining, no circuit breaker open (`breaker:s3`: intake is paused until S3 answers a probe, whatever
 * the results bucket answers this instant). Redis is pinged on a connection of its own without an offline queue, so an outage answers at
 * once instead of queueing pings behind the BullMQ connection's reconnects. `close()` ends that connection.
 */
export function readinessChecks(d: ReadinessDeps): {
  checks: readonly WorkerReadinessCheck[];
  close(): Promise<void>;
} {
  const probe = createWorkerConnection(d.config.redis.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
    connectionName: 'labelq-worker-readiness',
  });
  probe.on('error', () => undefined);
  const checks: WorkerReadinessCheck[] = [
    {
      name: 'draining',
      check: () =>
        d.isDraining()
          ? Promise.reject(new Error('shutting down: finishing in-flight jobs, taking no new ones'))
          : Promise.resolve(),
    },
    {
      name: 'pool',
      check: () =>
        d.pool.threads > 0 && d.pool.manifests.length > 0
          ? Promise.resolve()
          : Promise.reject(new Error('no inference threads or no models loaded')),
    },
    {
      name: 'redis',
      check: async () => {
        if (probe.status === 'wait') await probe.connect();
        await probe.ping();
      },
    },
    { name: 's3', check: () => d.store.checkBucket(d.config.s3.bucket) },
    ...(d.breakers ?? []).map((b) => ({
      name: `breaker:${b.name}`,
      check: () => {
        const open = b.opened;
        return open === undefined
          ? Promise.resolve()
          : Promise.reject(
              new Error(
                `circuit open since ${open.at.toISOString()} (${open.cause.code}: ${open.cause.message}): ` +
                  'taking no jobs until a probe succeeds',
              ),
            );
      },
    })),
  ];
  return { checks, close: async () => void (await probe.quit().catch(() => probe.disconnect())) };
}
