import type { BatchFilter, ModelRef } from '@labelq/contracts';
import { describe, expect, it } from 'vitest';
import { filterReason, type ListedObject } from './filter.ts';
import { parseManifestLine, manifestFormat } from './manifest.ts';
import { existingResult, modeDecision, type ExistingResult } from './mode.ts';
import { inFlight, windowSpace } from './window.ts';

describe('parseManifestLine', () => {
  it.each([
    ['plain CSV', 'src,a/b.jpg', { ok: true, bucket: 'src', key: 'a/b.jpg' }],
    [
      'URL-encoded key, + is a space',
      'src,a/my+photo%2B1%C3%A9.jpg',
      { ok: true, bucket: 'src', key: 'a/my photo+1é.jpg' },
    ],
    [
      'quoted fields (S3 Inventory)',
      '"src","a/b.jpg","v123"',
      { ok: true, bucket: 'src', key: 'a/b.jpg', versionId: 'v123' },
    ],
    [
      'extra inventory columns',
      'src,a.jpg,v1,true,false,123',
      { ok: true, bucket: 'src', key: 'a.jpg', versionId: 'v1' },
    ],
    ['CRLF line end', 'src,a.jpg\r', { ok: true, bucket: 'src', key: 'a.jpg' }],
    ['one field', 'a.jpg', { ok: false }],
    ['bad URL encoding', 'src,%E0%A4%A', { ok: false }],
    ['empty key', 'src,', { ok: false }],
    ['bad bucket', 'ab,a.jpg', { ok: false }],
    ['unbalanced quotes', '"src,a.jpg', { ok: false }],
  ])('CSV: %s', (_name, line, want) => {
    expect(parseManifestLine(line, 'csv', 'default-bucket')).toMatchObject(want);
  });

  it.each([
    ['key only: the source bucket', '{"key":"a.jpg"}', { ok: true, bucket: 'default-bucket', key: 'a.jpg' }],
    [
      'bucket and metadata',
      '{"key":"a.jpg","bucket":"other","metadata":{"x":1}}',
      { ok: true, bucket: 'other', key: 'a.jpg', metadata: { x: 1 } },
    ],
    ['not JSON', '{key:', { ok: false }],
    ['no key', '{"bucket":"b"}', { ok: false }],
    ['unknown field', '{"key":"a","extra":1}', { ok: false }],
  ])('JSONL: %s', (_name, line, want) => {
    expect(parseManifestLine(line, 'jsonl', 'default-bucket')).toMatchObject(want);
  });

  it.each([
    ['m.csv', 'csv'],
    ['m.jsonl', 'jsonl'],
    ['m.NDJSON', 'jsonl'],
    ['manifest', 'csv'],
  ])('format of %s is %s', (key, format) => {
    expect(manifestFormat(key)).toBe(format);
  });
});

describe('filterReason', () => {
  const t = new Date('2026-06-01T00:00:00Z');
  it.each<[string, ListedObject, BatchFilter | undefined, string | undefined]>([
    ['no filter', { key: 'a.jpg', size: 10 }, undefined, undefined],
    ['folder marker', { key: 'a/', size: 0 }, undefined, 'folder'],
    ['extension kept (case-insensitive)', { key: 'a.JPG' }, { extensions: ['jpg', 'png'] }, undefined],
    ['extension refused', { key: 'a.txt' }, { extensions: ['jpg'] }, 'extension'],
    ['no extension', { key: 'dir.d/file' }, { extensions: ['d'] }, 'extension'],
    ['too small', { key: 'a.jpg', size: 5 }, { minBytes: 10 }, 'too_small'],
    ['too large', { key: 'a.jpg', size: 50 }, { maxBytes: 10 }, 'too_large'],
    ['size unknown (manifest): not filtered', { key: 'a.jpg' }, { minBytes: 10 }, undefined],
    [
      'modified before',
      { key: 'a.jpg', lastModified: t },
      { modifiedAfter: '2026-07-01T00:00:00Z' },
      'modified_before',
    ],
    [
      'modified after',
      { key: 'a.jpg', lastModified: t },
      { modifiedAfter: '2026-05-01T00:00:00Z' },
      undefined,
    ],
  ])('%s', (_name, obj, filter, want) => {
    expect(filterReason(obj, filter)).toBe(want);
  });
});

describe('modeDecision', () => {
  const model: ModelRef = { name: 'm', version: '1', sha256: 'a'.repeat(64) };
  const now = { etag: '"e1"', models: [model], policyVersion: 'p1' };
  const current: ExistingResult = {
    status: 'completed',
    etag: '"e1"',
    models: [`m@${'a'.repeat(64)}`],
    policy: 'p1',
  };
  const otherModel: ExistingResult = { ...current, models: [`m@${'b'.repeat(64)}`] };
  const otherPolicy: ExistingResult = { ...current, policy: 'p0' };
  const otherBytes: ExistingResult = { ...current, etag: '"e0"' };
  const noPolicy: ExistingResult = { ...current, policy: undefined };
  it.each<[string, 'missing' | 'stale' | 'all', ExistingResult, string]>([
    ['missing: no result', 'missing', { status: 'none' }, 'queue'],
    ['missing: failed before', 'missing', { status: 'failed' }, 'queue'],
    ['missing: current', 'missing', current, 'skip:current'],
    ['missing: current, no moderation in it', 'missing', noPolicy, 'skip:current'],
    ['missing: other model file', 'missing', otherModel, 'queue'],
    ['missing: other policy', 'missing', otherPolicy, 'queue'],
    ['missing: object changed', 'missing', otherBytes, 'queue'],
    ['stale: no result', 'stale', { status: 'none' }, 'skip:no_result'],
    ['stale: failed before', 'stale', { status: 'failed' }, 'skip:no_result'],
    ['stale: current', 'stale', current, 'skip:current'],
    ['stale: other model file', 'stale', otherModel, 'queue'],
    ['stale: other policy', 'stale', otherPolicy, 'queue'],
    ['stale: object changed', 'stale', otherBytes, 'queue'],
    ['all: current', 'all', current, 'queue'],
    ['all: none', 'all', { status: 'none' }, 'queue'],
  ])('%s', (_name, mode, existing, want) => {
    const d = modeDecision(mode, existing, now);
    expect(d.action === 'skip' ? `skip:${d.reason}` : d.action).toBe(want);
  });

  it('an unknown ETag (manifest line without HEAD) is not compared', () => {
    expect(modeDecision('missing', otherBytes, { ...now, etag: undefined })).toEqual({
      action: 'skip',
      reason: 'current',
    });
  });

  it('reads documents: absent or corrupt is none', () => {
    expect(existingResult(undefined)).toEqual({ status: 'none' });
    expect(existingResult({ schemaVersion: 99 })).toEqual({ status: 'none' });
  });
});

describe('window', () => {
  it.each([
    ['empty batch', { queued: 0, completed: 0, failed: 0, failedListing: 0 }, 10, 0, 10],
    ['half full', { queued: 10, completed: 3, failed: 2, failedListing: 0 }, 10, 5, 5],
    ['full', { queued: 20, completed: 10, failed: 0, failedListing: 0 }, 10, 10, 0],
    [
      'bad manifest lines are not in flight',
      { queued: 5, completed: 5, failed: 3, failedListing: 3 },
      10,
      0,
      10,
    ],
    ['never negative', { queued: 1, completed: 3, failed: 0, failedListing: 0 }, 10, 0, 10],
  ])('%s', (_name, counts, window, flight, space) => {
    expect(inFlight(counts)).toBe(flight);
    expect(windowSpace(counts, window)).toBe(space);
  });

  it('two batches with equal windows hold equal shares of the queue whatever their sizes (fairness)', () => {
    // Simulates a FIFO of equal-priority jobs served one at a time; each batch refills its own window.
    const window = 4;
    const batches = [
      { left: 1000, queued: 0, done: 0 },
      { left: 20, queued: 0, done: 0 },
      { left: 1000, queued: 0, done: 0 },
    ];
    const fifo: number[] = [];
    const refill = (): void =>
      batches.forEach((b, i) => {
        while (b.left > 0 && b.queued - b.done < window) {
          fifo.push(i);
          b.queued++;
          b.left--;
        }
      });
    refill();
    for (let served = 0; served < 60; served++) {
      batches[fifo.shift()!]!.done++;
      refill();
    }
    expect(batches[1]!.done).toBe(20);
    expect(Math.abs(batches[0]!.done - batches[2]!.done)).toBeLessThanOrEqual(1);
  });
});
