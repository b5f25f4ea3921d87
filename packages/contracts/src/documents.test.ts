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

const box = { x: 0.1, y: 0.2, width: 0.3, height: 0.4 };
const instances = [{ label: 'cat', confidence: 0.6, box }];

/** A current (v2) document with every optional field set and one entry of each task. */
const resultV2: ResultDocument = sampleResultDocument(id, {
  source: { bucket: 'b-1', key: 'k.jpg', etag: '"e"', bytes: 10, contentType: 'image/jpeg' },
  results: [
    { task: 'detect', model, labels: [{ name: 'cat', confidence: 0.6 }], instances },
    { task: 'classify', model: { ...model, name: 'nsfw' }, labels: [{ name: 'Porn', confidence: 0.7 }] },
    { task: 'faces', model: { ...model, name: 'faces' }, count: 1, faces: [{ confidence: 0.9, box }] },
    { task: 'text', model: { ...model, name: 'text' }, lines: [{ text: 'OPEN', confidence: 0.97, box }] },
  ],
  moderation: {
    decision: 'review',
    reasons: [
      { category: 'Porn', score: 0.7, threshold: 0.6 },
      { rule: 'instance', model: 'alpha-net', label: 'cat', score: 0.6, threshold: 0.5, count: 1 },
      { rule: 'text', model: 'text', term: 'open', match: 'OPEN' },
    ],
    policy: 'nsfw-2026.11-1',
    models: ['nsfw'],
  },
  purpose: 'moderation',
  origin: 'upload',
  metadata: { user: 'u1' },
});

/** Documents exactly as labelq 0.1.0's worker wrote them (schema version 1: entries without a task). */
const resultV1 = {
  ...resultV2,
  schemaVersion: 1,
  results: [
    { model, labels: [{ name: 'cat', confidence: 0.6 }], instances },
    { model: { ...model, name: 'nsfw' }, labels: [{ name: 'Porn', confidence: 0.7 }] },
  ],
  moderation: { ...resultV2.moderation!, reasons: [{ category: 'Porn', score: 0.7, threshold: 0.6 }] },
};
const { startedAt: _startedAt, ...failureTimings } = sampleFailureDocument(id).timings;
const failureV1 = {
  ...sampleFailureDocument(id, {
    error: { code: 'image_decode_failed', message: 'bad' },
    timings: failureTimings,
  }),
  schemaVersion: 1,
};
const failureV2: FailureDocument = { ...failureV1, schemaVersion: 2 };

describe('readStoredDocument', () => {
  it.each([
    ['a v2 result document with every task', resultV2],
    ['a v2 failure document', failureV2],
    [
      'a failure document with startedAt',
      { ...failureV2, timings: { ...failureV2.timings, startedAt: '2026-01-01T00:00:01.000Z' } },
    ],
    // JSON round trip: what S3 gives back.
    ['a result document read back from JSON', JSON.parse(JSON.stringify(resultV2)) as unknown],
  ])('reads %s', (_name, doc) => {
    expect(readStoredDocument(doc)).toEqual(doc);
  });

  it('upgrades v1 entries by their shape: instances -> detect, labels only -> classify', () => {
    expect(readStoredDocument(resultV1)).toEqual({
      ...resultV1,
      schemaVersion: 2,
      results: [
        { task: 'detect', model, labels: [{ name: 'cat', confidence: 0.6 }], instances },
        { task: 'classify', model: { ...model, name: 'nsfw' }, labels: [{ name: 'Porn', confidence: 0.7 }] },
      ],
    });
    expect(readStoredDocument(failureV1)).toEqual(failureV2);
  });

  it.each([
    ['a v2 entry without its task', { ...resultV2, results: [resultV1.results[0]] }],
    ['a faces entry without faces', { ...resultV2, results: [{ task: 'faces', model, count: 0 }] }],
    ['an unknown task', { ...resultV2, results: [{ task: 'segment', model }] }],
    ['a v1 document with a v2 entry', { ...resultV1, results: resultV2.results }],
  ])('refuses %s', (_name, doc) => {
    expect(() => readStoredDocument(doc)).toThrow(expect.objectContaining({ code: 'document_invalid' }));
  });

  it('passes "no document" through as undefined', () => {
    expect(readStoredDocument(undefined)).toBeUndefined();
  });

  it('accepts error codes it does not know (a newer worker may write one)', () => {
    const doc = { ...failureV2, error: { code: 'some_future_code', message: 'x' } };
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
