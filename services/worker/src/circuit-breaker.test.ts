import { LabelqError, type ErrorCode } from '@labelq/errors';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.ts';

const logger = pino({ level: 'silent' });

function breaker(probe: () => Promise<void>) {
  const events: string[] = [];
  const b = new CircuitBreaker({
    name: 'dep',
    probe,
    outageCodes: ['storage_unavailable'],
    onOpen: () => events.push('open'),
    onClose: () => events.push('close'),
    logger,
    initialProbeDelayMs: 5,
    maxProbeDelayMs: 20,
    probeTimeoutMs: 50,
  });
  return { b, events };
}

const down = (): Promise<void> => Promise.reject(new LabelqError('storage_unavailable', 'ECONNREFUSED'));
const up = (): Promise<void> => Promise.resolve();
const hangs = (): Promise<void> => new Promise(() => undefined);
const gone = (): Promise<void> => Promise.reject(new LabelqError('bucket_not_found'));

describe('CircuitBreaker', () => {
  it.each<[string, ErrorCode, () => Promise<void>, boolean]>([
    ['outage code, probe fails: outage', 'storage_unavailable', down, true],
    ['outage code, probe hangs past its timeout: outage', 'storage_unavailable', hangs, true],
    ['outage code, probe answers: this operation only', 'storage_unavailable', up, false],
    ['outage code, probe refused for good: no outage', 'storage_unavailable', gone, false],
    ['other code: never an outage, no probe', 'image_decode_failed', down, false],
  ])('%s', async (_name, code, probe, outage) => {
    const { b, events } = breaker(probe);
    expect(await b.isOutage(new LabelqError(code))).toBe(outage);
    expect(b.state).toBe(outage ? 'open' : 'closed');
    expect(events).toEqual(outage ? ['open'] : []);
    b.stop();
  });

  it('shares one probe among concurrent failures, answers open at once, and closes when a probe succeeds', async () => {
    let probes = 0;
    let healthy = false;
    const { b, events } = breaker(() => {
      probes++;
      return healthy ? up() : down();
    });
    const err = new LabelqError('storage_unavailable');
    expect(await Promise.all([b.isOutage(err), b.isOutage(err), b.isOutage(err)])).toEqual([
      true,
      true,
      true,
    ]);
    expect(probes).toBe(1);
    expect(await b.isOutage(err)).toBe(true);
    await new Promise((r) => setTimeout(r, 40));
    expect(probes).toBeGreaterThan(1); // probing with backoff while open
    healthy = true;
    await new Promise((r) => setTimeout(r, 60));
    expect(b.state).toBe('closed');
    expect(events).toEqual(['open', 'close']);
    b.stop();
  });

  it('never closes (nor probes) after stop()', async () => {
    let probes = 0;
    const { b, events } = breaker(() => {
      probes++;
      return down();
    });
    expect(await b.isOutage(new LabelqError('storage_unavailable'))).toBe(true);
    b.stop();
    const seen = probes;
    await new Promise((r) => setTimeout(r, 40));
    expect(probes).toBe(seen);
    expect(events).toEqual(['open']);
  });
});
