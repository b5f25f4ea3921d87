import { objectImageId, type ResultDocument } from '@labelq/contracts';
import { sampleResultDocument } from '@labelq/contracts/testing';
import { DEFAULT_POLICY } from '@labelq/moderation';
import { describe, expect, it } from 'vitest';
import { isCompletedFor, mayHaveStoredResult, reusableResult } from './result-document.ts';
import { labelqOwnedKeys, labelqTags } from './tags.ts';

const models = [{ name: 'nsfw-mobilenet-v2', version: '1', sha256: 'a'.repeat(64) }];
const doc: ResultDocument = sampleResultDocument(objectImageId('default', 'b', 'k', ['nsfw-mobilenet-v2']), {
  source: { bucket: 'b', key: 'k', etag: '"e1"', bytes: 1 },
  results: [
    {
      task: 'classify',
      model: models[0]!,
      labels: [
        { name: 'Neutral', confidence: 0.9 },
        { name: 'Porn', confidence: 0.31 },
        { name: 'Sexy', confidence: 0.05 },
      ],
    },
  ],
  moderation: {
    decision: 'allow',
    reasons: [],
    policy: DEFAULT_POLICY.version,
    models: ['nsfw-mobilenet-v2'],
  },
  provenance: { labelqVersion: '0.1.0', models, attempt: 1 },
});
const expected = { etag: '"e1"', models, policy: DEFAULT_POLICY };

describe('reusableResult', () => {
  it('accepts the same ETag, model files and policy', () => {
    expect(reusableResult(doc, expected)).toEqual(doc);
  });
  it.each([
    ['another ETag', { ...expected, etag: '"e2"' }, doc],
    ['another model file', { ...expected, models: [{ ...models[0]!, sha256: 'b'.repeat(64) }] }, doc],
    ['another policy', { ...expected, policy: { ...DEFAULT_POLICY, version: 'x' } }, doc],
    ['a failure document', expected, { ...doc, status: 'failed' }],
    ['an older schema version', expected, { ...doc, schemaVersion: 1 }],
    ['garbage', expected, 'nope'],
    ['a document that breaks its schema', expected, { ...doc, results: 'x' }],
  ])('rejects %s', (_n, exp, existing) => {
    expect(reusableResult(existing, exp)).toBeUndefined();
  });
});

describe('isCompletedFor (a failure document never replaces it)', () => {
  it('is true only for a completed document for the same ETag', () => {
    expect(isCompletedFor(doc, '"e1"')).toBe(true);
    expect(isCompletedFor(doc, '"e2"')).toBe(false);
    expect(isCompletedFor({ ...doc, status: 'failed' }, '"e1"')).toBe(false);
    expect(isCompletedFor(undefined, '"e1"')).toBe(false);
  });
});

describe('labelqTags', () => {
  it('writes moderation, then one tag per model with its labels above the threshold; nothing job-specific', () => {
    expect(labelqTags(doc, 0.3)).toEqual([
      { key: 'labelq:moderation', value: 'allow' },
      { key: 'labelq:nsfw-mobilenet-v2', value: 'Neutral/Porn' },
    ]);
    expect(labelqTags(doc, 0.95)).toEqual([{ key: 'labelq:moderation', value: 'allow' }]);
  });
  it('owns its models, and moderation only when an NSFW model ran', () => {
    expect(labelqOwnedKeys(doc)).toEqual(['labelq:moderation', 'labelq:nsfw-mobilenet-v2']);
    const { moderation: _, ...noNsfw } = doc;
    expect(labelqOwnedKeys(noNsfw)).not.toContain('labelq:moderation');
  });

  it('tags faces with their count (0 too) and text with yes/no, per task', () => {
    const ref = (name: string) => ({ name, version: '1', sha256: 'a'.repeat(64) });
    const box = { x: 0, y: 0, width: 0.1, height: 0.1 };
    const tagsOf = (results: ResultDocument['results']) =>
      labelqTags(sampleResultDocument(doc.id, { results }), 0.3);
    expect(
      tagsOf([
        {
          task: 'faces',
          model: ref('faces'),
          count: 2,
          faces: [
            { confidence: 0.9, box },
            { confidence: 0.8, box },
          ],
        },
        { task: 'text', model: ref('text'), lines: [{ text: 'OPEN', confidence: 0.9, box }] },
        {
          task: 'detect',
          model: ref('coco-centernet'),
          labels: [{ name: 'cat', confidence: 0.57 }],
          instances: [{ label: 'cat', confidence: 0.57, box }],
        },
      ]),
    ).toEqual([
      { key: 'labelq:coco-centernet', value: 'cat' },
      { key: 'labelq:faces', value: '2' },
      { key: 'labelq:text', value: 'yes' },
    ]);
    expect(
      tagsOf([
        { task: 'faces', model: ref('faces'), count: 0, faces: [] },
        { task: 'text', model: ref('text'), lines: [] },
      ]),
    ).toEqual([
      { key: 'labelq:faces', value: '0' },
      { key: 'labelq:text', value: 'no' },
    ]);
  });
});

describe('mayHaveStoredResult', () => {
  const first = { attemptsStarted: 1, attemptsMade: 0, stalledCounter: 0 };
  it('skips the read only for a job its submitter found new, on its first start', () => {
    expect(mayHaveStoredResult({ noPriorResult: true }, first)).toBe(false);
  });
  it.each([
    ['no hint (batch items, an older API)', {}, first],
    ['hint false', { noPriorResult: false }, first],
    ['a retry', { noPriorResult: true }, { ...first, attemptsStarted: 2, attemptsMade: 1 }],
    ['a stalled re-run', { noPriorResult: true }, { ...first, attemptsStarted: 2, stalledCounter: 1 }],
    // An outage hand-back (Worker.RateLimitError) leaves attemptsMade alone; the start count still grows.
    ['a re-run after an outage hand-back', { noPriorResult: true }, { ...first, attemptsStarted: 2 }],
  ])('reads for %s', (_name, payload, job) => {
    expect(mayHaveStoredResult(payload, job)).toBe(true);
  });
});
