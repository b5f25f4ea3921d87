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

  it.each<[Record<string, string>, number, number]>([
    [{}, 2, 1],
    [{}, 8, 1],
    [{}, 9, 2],
    [{}, 64, 8],
    [{ POOL_THREADS: '17' }, 2, 3],
    [{ POOL_THREADS: '600' }, 2, 64],
    [{ S3_IO_THREADS: '0' }, 64, 0],
    [{ S3_IO_THREADS: '3' }, 2, 3],
  ])('S3_IO_THREADS: %j on %i cores gives %i S3 I/O thread(s)', (env, cores, expected) => {
    expect(loadConfig(env, cores).s3.ioThreads).toBe(expected);
  });

  it('rejects bad values with config_invalid naming the variable', () => {
    expect(() => loadConfig({ S3_IO_THREADS: '65' }, 2)).toThrowError(/S3_IO_THREADS/);
    expect(() => loadConfig({ API_PORT: 'eighty' }, 2)).toThrowError(/API_PORT/);
    expect(() => loadConfig({ S3_ACCESS_KEY_ID: 'x' }, 2)).toThrowError(/S3_SECRET_ACCESS_KEY/);
  });
});
