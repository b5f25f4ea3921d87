import { describe, expect, it } from 'vitest';
import type { ModelResult, ResultDocument } from '@labelq/contracts';
import { sampleFailureDocument, sampleResultDocument } from '@labelq/contracts/testing';
import { bigintToPhash, documentRows, labelRows, ocrText, phashToBigint } from './document-rows.ts';

const model = (name: string) => ({ name, version: '1', sha256: '0'.repeat(64) });
const box = { x: 0, y: 0, width: 0.5, height: 0.5 };
const doc = (results: ModelResult[], over: Partial<ResultDocument> = {}) =>
  sampleResultDocument('img_00000000000000000000000000000001', { results, ...over });

describe('the document -> index rows mapping', () => {
  it.each<
    [
      string,
      ModelResult[],
      { model: string; task: string; label: string; confidence: number; instances: number }[],
    ]
  >([
    [
      'classify: every label, no instances',
      [
        {
          task: 'classify',
          model: model('cls'),
          labels: [
            { name: 'dog', confidence: 0.8 },
            { name: 'cat', confidence: 0.1 },
          ],
        },
      ],
      [
        { model: 'cls', task: 'classify', label: 'dog', confidence: 0.8, instances: 0 },
        { model: 'cls', task: 'classify', label: 'cat', confidence: 0.1, instances: 0 },
      ],
    ],
    [
      'detect: labels with their instance counts',
      [
        {
          task: 'detect',
          model: model('det'),
          labels: [{ name: 'person', confidence: 0.9 }],
          instances: [
            { label: 'person', confidence: 0.9, box },
            { label: 'person', confidence: 0.6, box },
          ],
        },
      ],
      [{ model: 'det', task: 'detect', label: 'person', confidence: 0.9, instances: 2 }],
    ],
    [
      'faces: one `face` row with the count and the best confidence',
      [
        {
          task: 'faces',
          model: model('faces'),
          count: 2,
          faces: [
            { confidence: 0.7, box },
            { confidence: 0.85, box },
          ],
        },
      ],
      [{ model: 'faces', task: 'faces', label: 'face', confidence: 0.85, instances: 2 }],
    ],
    ['faces: none found, no row', [{ task: 'faces', model: model('faces'), count: 0, faces: [] }], []],
    [
      'text: no label rows',
      [{ task: 'text', model: model('ocr'), lines: [{ text: 'MENU', confidence: 0.9, box }] }],
      [],
    ],
  ])('%s', (_name, results, expected) => {
    expect(labelRows(doc(results))).toEqual(expected);
  });

  it('OCR text: the lines of every text result, blank lines dropped; null without text', () => {
    const lines = ['Call 555-0100', '  ', 'for the menu'].map((text) => ({ text, confidence: 0.9, box }));
    expect(ocrText(doc([{ task: 'text', model: model('ocr'), lines }]))).toBe('Call 555-0100\nfor the menu');
    expect(ocrText(doc([]))).toBeNull();
    expect(ocrText(sampleFailureDocument('img_00000000000000000000000000000001'))).toBeNull();
  });

  it.each([
    '0000000000000000',
    'ffffffffffffffff',
    '8000000000000000',
    '7fffffffffffffff',
    'f0e1d2c3b4a59687',
  ])('pHash %s round-trips through a signed bigint', (hex) => {
    const signed = BigInt(phashToBigint(hex));
    expect(signed >= -(2n ** 63n) && signed < 2n ** 63n).toBe(true);
    expect(bigintToPhash(phashToBigint(hex))).toBe(hex);
  });

  it('a failure document is an images row with its error code and no labels', () => {
    const rows = documentRows({
      ...sampleFailureDocument('img_00000000000000000000000000000002'),
      tenant: 'acme',
    });
    expect(rows.image).toMatchObject({
      tenant: 'acme',
      status: 'failed',
      errorCode: 'storage_unavailable',
      phash: null,
    });
    expect(rows.labels).toEqual([]);
  });

  it('the moderation decision and policy version, and a reviewer decision over it when the document has one', () => {
    const moderated = doc([], {
      moderation: { decision: 'review', reasons: [], policy: 'p-3', models: ['nsfw'] },
    });
    expect(documentRows(moderated).image).toMatchObject({
      decision: 'review',
      policyVersion: 'p-3',
      tenant: 'default',
    });
    expect(documentRows(moderated).image).toMatchObject({
      modelDecision: 'review',
      reviewedBy: null,
      reviewedAt: null,
      revisedAt: null,
    });
    const review = {
      v: 1 as const,
      decision: 'allow' as const,
      by: 'key_1',
      at: '2026-11-02T10:00:00.000Z',
      modelDecision: 'review' as const,
      policy: 'p-3',
    };
    const reviewed: ResultDocument = { ...moderated, review };
    expect(documentRows(reviewed).image).toMatchObject({
      decision: 'allow',
      modelDecision: 'review',
      reviewedBy: 'key_1',
      reviewedAt: review.at,
      revisedAt: review.at,
    });
  });

  it.each([
    ['a review only', '2026-11-02T10:00:00.000Z', undefined, '2026-11-02T10:00:00.000Z'],
    ['a re-decision only', undefined, '2026-11-03T10:00:00.000Z', '2026-11-03T10:00:00.000Z'],
    [
      'a re-decision after the review',
      '2026-11-02T10:00:00.000Z',
      '2026-11-03T10:00:00.000Z',
      '2026-11-03T10:00:00.000Z',
    ],
    [
      'a review after the re-decision',
      '2026-11-04T10:00:00.000Z',
      '2026-11-03T10:00:00.000Z',
      '2026-11-04T10:00:00.000Z',
    ],
  ])('revisedAt (the version after finishedAt) with %s', (_name, reviewAt, redecidedAt, expected) => {
    const d: ResultDocument = {
      ...doc([], { moderation: { decision: 'allow', reasons: [], policy: 'p-4', models: ['nsfw'] } }),
      ...(reviewAt !== undefined
        ? {
            review: {
              v: 1 as const,
              decision: 'allow' as const,
              by: 'key_1',
              at: reviewAt,
              modelDecision: 'review' as const,
              policy: 'p-3',
            },
          }
        : {}),
      ...(redecidedAt !== undefined
        ? { redecided: { at: redecidedAt, fromPolicy: 'p-3', fromDecision: 'review' as const } }
        : {}),
    };
    expect(documentRows(d).image.revisedAt).toBe(expected);
  });
});
