// `pnpm bench` flags that decide what is measured (pure parsing; the benchmark itself runs in test/integration).
import { describe, expect, it } from 'vitest';
import { parseBenchArgs, type BenchOptions } from '../../scripts/bench/options.ts';

function parse(argv: string[]): BenchOptions {
  const opts = parseBenchArgs(argv, {});
  if (opts === 'help') throw new Error('unexpected help');
  return opts;
}

describe('pnpm bench --set', () => {
  it.each<[string[], Record<string, string>]>([
    [[], {}],
    [['--set', 'S3_IO_THREADS=0'], { S3_IO_THREADS: '0' }],
    [
      ['--set', 'S3_IO_THREADS=2', '--set', 'POOL_URGENT_THREADS=0'],
      { S3_IO_THREADS: '2', POOL_URGENT_THREADS: '0' },
    ],
    [['--set', 'S3_REQUEST_TIMEOUT_MS=5000'], { S3_REQUEST_TIMEOUT_MS: '5000' }],
    [['--set', 'LOG_LEVEL='], { LOG_LEVEL: '' }],
  ])('%j gives the settings %j', (argv, settings) => {
    expect(parse(argv).settings).toEqual(settings);
  });

  it.each([
    'S3_IO_THREADS',
    '=1',
    's3_io_threads=1',
    'A B=1',
    // Not a setting: a typo would measure the default twice.
    'S3_IO_THREAD=0',
    // The harness's own: overwritten per variant, or bypassing its services and proxy.
    'S3_ENDPOINT=http://elsewhere:9000',
    'POOL_THREADS=4',
    'REDIS_URL=redis://x:1',
  ])('refuses "%s" with invalid_request', (pair) => {
    expect(() => parse(['--set', pair])).toThrowError(expect.objectContaining({ code: 'invalid_request' }));
  });
});

describe('pnpm bench --s3-latency-ms', () => {
  it.each<[string[], number]>([
    [[], 0],
    [['--s3-latency-ms', '0'], 0],
    [['--s3-latency-ms', '30'], 30],
  ])('%j gives %i ms', (argv, ms) => {
    expect(parse(argv).s3LatencyMs).toBe(ms);
  });

  it.each(['-1', '1.5', 'x'])('refuses %s with invalid_request', (value) => {
    expect(() => parse(['--s3-latency-ms', value])).toThrowError(
      expect.objectContaining({ code: 'invalid_request' }),
    );
  });
});
