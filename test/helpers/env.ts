import { loadConfig, type Config } from '@labelq/config';
import { s3rverEnv } from '@labelq/dev-services';
import { modelsDir } from '../fixtures/index.ts';

export interface TestEnvOptions {
  redisUrl?: string;
  s3Endpoint: string;
  bucket: string;
  /** Unique per test. */
  queueName?: string;
  /** Unique per test: uploads and results go under `<prefix>/uploads/` and `<prefix>/results/`. */
  prefix?: string;
  /** Extra variables, e.g. `{ WORKER_CONCURRENCY: '2' }`. */
  extra?: Record<string, string>;
}

/** The environment a labelq process needs against local services (also used to spawn worker processes). */
export function testEnv(o: TestEnvOptions): Record<string, string> {
  return {
    LOG_LEVEL: 'warn',
    REDIS_URL: o.redisUrl ?? testRedisUrl(),
    QUEUE_NAME: o.queueName ?? 'labelq-test',
    ...s3rverEnv(o.s3Endpoint, o.bucket),
    MODELS_DIR: modelsDir,
    // Tests run many workers at once: each gets a free port for its HTTP endpoint.
    WORKER_HTTP_PORT: '0',
    ...(o.prefix
      ? { S3_UPLOADS_PREFIX: `${o.prefix}/uploads/`, S3_RESULTS_PREFIX: `${o.prefix}/results/` }
      : {}),
    ...o.extra,
  };
}

/** A frozen Config for tests (2 cores: small pools). */
export function testConfig(o: TestEnvOptions): Config {
  return loadConfig(testEnv(o), 2);
}

/** A short unique suffix for queue names, buckets and prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The tests' Redis (test/global-setup.ts resolves or starts it and exports REDIS_URL). */
export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}
