import { describe, expect, it } from 'vitest';
import {
  readStoredDocument,
  tryReadStoredDocument,
  type FailureDocument,
  type ResultDocument,
} from './documents.ts';
import { objectImageId } from './ids.ts';
import { sampleFailureDocument, sampleResultDocument } from './testing.ts';

const id = objectImageId('default', 'b-1', 'k.jpg', ['alpha-net']);
const model = { name: 'alpha-net', version: '1', sha256: 'a'.repeat(64) };

/** Documents exactly as labelq 0.1.0's worker wrote them (schema version 1), every optional field set. */
const resultV1: ResultDocument = sampleResultDocument(id, {
  source: { bucket: 'b-1', key: 'k.jpg', etag: '"e"', bytes: 10, contentType: 'image/jpeg' },
  results: [
    {
      model,
      labels: [{ name: 'cat', confidence: 0.6 }],
      instances: [{ label: 'cat', confidence: 0.6, box: { x: 0.1, y: 0.2, width: 0.3, height: 0.4 } }],
    },
  ],
  moderation: {
    decision: 'review',
    reasons: [{ category: 'Porn', score: 0.7, threshold: 0.6 }],
    policy: 'nsfw-2026.11-1',
    models: ['nsfw'],
  },
  purpose: 'moderation',
  origin: 'upload',
  metadata: { user: 'u1' },
});
const { startedAt: _startedAt, ...failureTimings } = sampleFailureDocument(id).timings;
const failureV1: FailureDocument = sampleFailureDocument(id, {
  error: { code: 'image_decode_failed', message: 'bad' },
  timings: failureTimings,
});

describe('readStoredDocument', () => {
  it.each([
    ['a v1 result document', resultV1],
    ['a v1 failure document (written before startedAt was recorded)', failureV1],
    [
      'a failure document with startedAt',
      { ...failureV1, timings: { ...failureV1.timings, startedAt: '2026-01-01T00:00:01.000Z' } },
    ],
    // JSON round trip: what S3 gives back.
    ['a result document read back from JSON', JSON.parse(JSON.stringify(resultV1)) as unknown],
  ])('reads %s', (_name, doc) => {
    expect(readStoredDocument(doc)).toEqual(doc);
  });

  it('passes "no document" through as undefined', () => {
    expect(readStoredDocument(undefined)).toBeUndefined();
  });

  it('accepts error codes it does not know (a newer worker may write one)', () => {
    const doc = { ...failureV1, error: { code: 'some_future_code', message: 'x' } };
    expect(readStoredDocument(doc)).toEqual(doc);
  });

  it.each([
    ['an unknown schema version', { ...resultV1, schemaVersion: 99 }],
    ['no schema version', { status: 'completed', id }],
    ['a result without results', { ...resultV1, results: undefined }],
    ['a bad status', { ...resultV1, status: 'done' }],
    ['a bad id', { ...resultV1, id: 'x' }],
    ['not an object', 'completed'],
    ['null', null],
  ])('refuses %s as document_invalid', (_name, doc) => {
    expect(() => readStoredDocument(doc)).toThrow(expect.objectContaining({ code: 'document_invalid' }));
    expect(tryReadStoredDocument(doc)).toBeUndefined();
  });
});
