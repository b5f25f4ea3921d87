import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema } from './schema.ts';
import { loadConfig } from './config.ts';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('configuration', () => {
  it('documents every environment variable in the README table', () => {
    const missing = Object.keys(envSchema.shape).filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('derives thread defaults from cores and freezes the result', () => {
    const config = loadConfig({ INTRA_OP_THREADS: '2' }, 8);
    expect(config.pool.threads).toBe(4);
    expect(config.worker.concurrency).toBe(10);
    expect(config.pool).toMatchObject({ urgentThreads: 1, bulkNice: 10 });
    expect(config.worker.urgentConcurrency).toBe(2);
    const none = loadConfig({ POOL_URGENT_THREADS: '0' }, 8);
    expect(none.pool).toMatchObject({ urgentThreads: 0, bulkNice: 0 });
    expect(none.worker.urgentConcurrency).toBe(0);
    expect(Object.isFrozen(config.s3)).toBe(true);
  });

  it('rejects bad values with config_invalid naming the variable', () => {
    expect(() => loadConfig({ API_PORT: 'eighty' }, 2)).toThrowError(/API_PORT/);
    expect(() => loadConfig({ S3_ACCESS_KEY_ID: 'x' }, 2)).toThrowError(/S3_SECRET_ACCESS_KEY/);
  });
});
