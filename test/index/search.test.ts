// The index's queries against real Postgres (a fresh database per file): every filter, keyset pagination with
// tamper-evident cursors, tenant isolation of every query, hostile text, label facets and near duplicates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  imageSearchQuerySchema,
  similarQuerySchema,
  type ResultDocument,
  type StoredDocument,
} from '@labelq/contracts';
import { sampleFailureDocument, sampleResultDocument } from '@labelq/contracts/testing';
import { LabelqError } from '@labelq/errors';
import { SearchService, upsertDocuments } from '@labelq/index';
import { createTestIndexDb, type TestIndexDb } from '../helpers/index-db.ts';

const model = (name: string) => ({ name, version: '1', sha256: '0'.repeat(64) });
const id = (n: number) => `img_${n.toString(16).padStart(32, '0')}`;
const at = (minute: number) => new Date(Date.UTC(2026, 10, 1, 0, minute)).toISOString();

interface Spec {
  n: number;
  tenant?: string;
  minute: number;
  labels?: [model: string, label: string, confidence: number][];
  decision?: 'allow' | 'review' | 'block';
  batch?: string;
  text?: string;
  phash?: string;
  sharpness?: number;
}

function doc(s: Spec): StoredDocument {
  const byModel = new Map<string, { name: string; confidence: number }[]>();
  for (const [m, name, confidence] of s.labels ?? [])
    byModel.set(m, [...(byModel.get(m) ?? []), { name, confidence }]);
  const base = sampleResultDocument(id(s.n), {
    tenant: s.tenant ?? 'acme',
    source: { bucket: 'photos', key: `k/${s.n}.jpg`, etag: `"${s.n}"`, bytes: 1000 + s.n },
    results: [
      ...[...byModel].map(([m, labels]) => ({ task: 'classify' as const, model: model(m), labels })),
      ...(s.text !== undefined
        ? [
            {
              task: 'text' as const,
              model: model('ocr'),
              lines: s.text
                .split('\n')
                .map((text) => ({ text, confidence: 0.9, box: { x: 0, y: 0, width: 1, height: 0.1 } })),
            },
          ]
        : []),
    ],
    provenance: { labelqVersion: '0.1.0', models: [...byModel.keys()].map(model), attempt: 1 },
    ...(s.decision !== undefined
      ? { moderation: { decision: s.decision, reasons: [], policy: 'p-7', models: ['nsfw'] } }
      : {}),
    ...(s.phash !== undefined
      ? {
          properties: {
            v: 1 as const,
            phash: s.phash,
            colours: [],
            brightness: 0.5,
            sharpness: s.sharpness ?? 500,
          },
        }
      : {}),
  });
  const d: ResultDocument = { ...base, timings: { ...base.timings, finishedAt: at(s.minute) } };
  // The batch field of a later document version, which the mapping already reads.
  return { ...d, ...(s.batch !== undefined ? { batchId: s.batch } : {}) };
}

/** Flips the given bit positions (0 = least significant) of a 16-hex-digit hash. */
function flip(hash: string, bits: number[]): string {
  let v = BigInt(`0x${hash}`);
  for (const b of bits) v ^= 1n << BigInt(b);
  return v.toString(16).padStart(16, '0');
}
const H = 'f0e1d2c3b4a59687';

const SPECS: Spec[] = [
  {
    n: 1,
    minute: 1,
    labels: [
      ['alpha', 'dog', 0.95],
      ['beta', 'dog', 0.9],
    ],
    decision: 'allow',
    batch: 'b1',
    phash: H,
  },
  {
    n: 2,
    minute: 2,
    labels: [['alpha', 'dog', 0.5]],
    decision: 'review',
    batch: 'b1',
    phash: flip(H, [0, 17, 40]),
  },
  {
    n: 3,
    minute: 3,
    labels: [['alpha', 'cat', 0.85]],
    decision: 'review',
    text: 'Call 555-0100 for the menu',
    phash: flip(H, [1, 2, 3, 20, 21, 22, 44, 45, 46, 60, 61, 62]),
  },
  {
    n: 4,
    minute: 4,
    labels: [['beta', 'dog', 0.81]],
    decision: 'block',
    batch: 'b2',
    text: 'menu of the day; DROP TABLE labelq.images; --',
    phash: flip(
      H,
      [...Array(20).keys()].map((k) => k * 3),
    ),
    sharpness: 20,
  },
  { n: 5, minute: 5, labels: [['alpha', 'dog', 0.99]], sharpness: 10, phash: '0123456789abcdef' },
  // Another tenant with the same labels, batch, text and hash: never visible to acme.
  {
    n: 6,
    tenant: 'other',
    minute: 6,
    labels: [['alpha', 'dog', 0.99]],
    decision: 'review',
    batch: 'b1',
    text: 'menu',
    phash: flip(H, [5]),
  },
];

let db: TestIndexDb;
let search: SearchService;
const q = (raw: Record<string, string>) => imageSearchQuerySchema.parse(raw);
const ids = (items: { id: string }[]) => items.map((i) => i.id);

beforeAll(async () => {
  db = await createTestIndexDb();
  search = new SearchService(db.pool);
  await upsertDocuments(db.pool, [...SPECS.map(doc), sampleFailureDocument(id(7), { tenant: 'acme' })]);
});
afterAll(async () => {
  await db?.drop();
});

describe('image search', () => {
  it.each<[string, Record<string, string>, number[]]>([
    ['everything, newest first (the failure finished at the sample time, earliest)', {}, [5, 4, 3, 2, 1, 7]],
    ['label', { label: 'dog' }, [5, 4, 2, 1]],
    ['label above a confidence', { label: 'dog', minConfidence: '0.8' }, [5, 4, 1]],
    ['label from one model', { label: 'dog', model: 'beta' }, [4, 1]],
    ['any label of a model', { model: 'beta' }, [4, 1]],
    ['decision', { decision: 'review' }, [3, 2]],
    ['batch', { batch: 'b1' }, [2, 1]],
    ['label within a batch and decision', { label: 'dog', batch: 'b1', decision: 'review' }, [2]],
    ['OCR text', { text: 'menu' }, [4, 3]],
    ['OCR text with a phrase', { text: '"for the menu"' }, [3]],
    ['digits in the text', { text: '555-0100' }, [3]],
    ['blurry', { blurry: 'true' }, [5, 4]],
    ['sharp', { blurry: 'false', label: 'dog' }, [2, 1]],
    ['before and after', { after: at(2), before: at(4) }, [3, 2]],
    ['failed ones', { status: 'failed' }, [7]],
  ])('%s', async (_name, raw, expected) => {
    const page = await search.searchImages('acme', q(raw));
    expect(ids(page.items)).toEqual(expected.map(id));
    expect(page.nextCursor).toBeNull();
  });

  it('answers labels, decision, batch and properties with each image', async () => {
    const page = await search.searchImages('acme', q({ label: 'dog', batch: 'b1', decision: 'allow' }));
    expect(page.items).toHaveLength(1);
    const item = page.items[0]!;
    expect(item).toMatchObject({
      id: id(1),
      key: 'k/1.jpg',
      decision: 'allow',
      batch: 'b1',
      policyVersion: 'p-7',
    });
    expect(item.labels.map((l) => [l.model, l.label, l.confidence])).toEqual([
      ['alpha', 'dog', 0.95],
      ['beta', 'dog', 0.9],
    ]);
    expect(item.properties?.phash).toBe(H);
  });

  it.each([
    "'; DROP TABLE labelq.images; --",
    "menu') OR 1=1 --",
    '\\\\ % _ * : & | ! ( ) <-> "',
    'Robert"); DELETE FROM labelq.labels; --',
  ])('hostile text %j is only a search term', async (text) => {
    await expect(search.searchImages('acme', q({ text }))).resolves.toBeDefined();
    const all = await search.searchImages('acme', q({}));
    expect(all.items).toHaveLength(6);
  });

  it('pages with keyset cursors, each page disjoint, in order, until null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await search.searchImages('acme', q({ limit: '2', ...(cursor ? { cursor } : {}) }));
      seen.push(...ids(page.items));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([5, 4, 3, 2, 1, 7].map(id));
    // The label path pages the same way.
    const first = await search.searchImages('acme', q({ label: 'dog', limit: '3' }));
    const second = await search.searchImages(
      'acme',
      q({ label: 'dog', limit: '3', cursor: first.nextCursor! }),
    );
    expect([...ids(first.items), ...ids(second.items)]).toEqual([5, 4, 2, 1].map(id));
    expect(second.nextCursor).toBeNull();
  });

  it('refuses a cursor of another tenant, of other filters, or altered: cursor_invalid (400)', async () => {
    const page = await search.searchImages('acme', q({ limit: '1' }));
    const cursor = page.nextCursor!;
    const refused = async (tenant: string, raw: Record<string, string>) => {
      const err = await search.searchImages(tenant, q(raw)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabelqError);
      expect((err as LabelqError).code).toBe('cursor_invalid');
      expect((err as LabelqError).status).toBe(400);
    };
    await refused('other', { limit: '1', cursor });
    await refused('acme', { limit: '1', label: 'dog', cursor });
    const [body, sig] = cursor.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), t: 'other' }),
    ).toString('base64url');
    await refused('other', { limit: '1', cursor: `${forged}.${sig}` });
    await refused('acme', { limit: '1', cursor: `${body}.${sig!.slice(0, -2)}AA` });
    await refused('acme', { limit: '1', cursor: 'garbage' });
    // A different limit with the same filters is fine.
    await expect(search.searchImages('acme', q({ limit: '3', cursor }))).resolves.toBeDefined();
  });

  it('refuses unknown filters and values out of range (the API answers 400 invalid_request)', () => {
    for (const raw of [
      { colour: 'red' },
      { minConfidence: '1.5' },
      { limit: '0' },
      { limit: '501' },
      { decision: 'maybe' },
      { before: 'yesterday' },
      { blurry: 'yes' },
    ])
      expect(imageSearchQuerySchema.safeParse(raw).success).toBe(false);
    expect(similarQuerySchema.safeParse({ maxDistance: '16' }).success).toBe(false);
  });
});

describe('tenant isolation', () => {
  it.each<[string, Record<string, string>, number[]]>([
    ['all', {}, [6]],
    ['label', { label: 'dog' }, [6]],
    ['text', { text: 'menu' }, [6]],
    ['batch', { batch: 'b1' }, [6]],
    ['decision', { decision: 'review' }, [6]],
  ])('the other tenant sees only its own image (%s)', async (_name, raw, expected) => {
    expect(ids((await search.searchImages('other', q(raw))).items)).toEqual(expected.map(id));
  });

  it('facets, similar and getImage stay within the tenant', async () => {
    expect((await search.labelFacets('other', { limit: 100 })).items).toEqual([{ label: 'dog', images: 1 }]);
    // Image 6 is 1 bit from image 1's hash but belongs to `other`.
    const near = await search.similar('acme', id(1), similarQuerySchema.parse({}));
    expect(ids(near.items)).not.toContain(id(6));
    await expect(search.similar('other', id(1), similarQuerySchema.parse({}))).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(await search.getImage('other', id(1))).toBeUndefined();
    expect(await search.searchImages('nobody', q({}))).toEqual({ items: [], nextCursor: null });
  });
});

describe('label facets', () => {
  it.each<[string, Parameters<SearchService['labelFacets']>[1], { label: string; images: number }[]]>([
    [
      'all',
      { limit: 100 },
      [
        { label: 'dog', images: 4 },
        { label: 'cat', images: 1 },
      ],
    ],
    ['within a batch', { batch: 'b1', limit: 100 }, [{ label: 'dog', images: 2 }]],
    ['above a confidence', { minConfidence: 0.9, limit: 100 }, [{ label: 'dog', images: 2 }]],
    ['one model', { model: 'beta', limit: 100 }, [{ label: 'dog', images: 2 }]],
  ])('%s', async (_name, query, expected) => {
    expect((await search.labelFacets('acme', query)).items).toEqual(expected);
  });
});

describe('near duplicates', () => {
  it.each<[number, number[]]>([
    [0, []],
    [3, [2]],
    [10, [2]],
    [12, [2, 3]],
    [15, [2, 3]],
  ])('within %i bits of image 1', async (maxDistance, expected) => {
    const near = await search.similar(
      'acme',
      id(1),
      similarQuerySchema.parse({ maxDistance: String(maxDistance) }),
    );
    expect(ids(near.items)).toEqual(expected.map(id));
    expect(near.items.map((i) => i.distance)).toEqual(expected.map((n) => (n === 2 ? 3 : 12)));
  });

  it('an unknown image is not_found; a failed one has no hash (409)', async () => {
    await expect(search.similar('acme', id(99), similarQuerySchema.parse({}))).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(search.similar('acme', id(7), similarQuerySchema.parse({}))).rejects.toMatchObject({
      code: 'no_perceptual_hash',
      status: 409,
    });
  });
});

describe('upserts', () => {
  it('are idempotent and never let an older outcome replace a newer one', async () => {
    const newer = doc({ n: 1, minute: 30, labels: [['alpha', 'wolf', 0.7]], phash: H });
    await upsertDocuments(db.pool, [newer]);
    await upsertDocuments(db.pool, [newer, doc(SPECS[0]!)]);
    await upsertDocuments(db.pool, [doc(SPECS[0]!)]);
    const image = await search.getImage('acme', id(1));
    expect(image?.labels.map((l) => l.label)).toEqual(['wolf']);
    expect(image?.finishedAt).toBe(at(30).replace('.000Z', '.000000Z'));
    await upsertDocuments(db.pool, [doc(SPECS[0]!)], { replace: 'always' });
    expect((await search.getImage('acme', id(1)))?.labels.map((l) => l.label)).toEqual(['dog', 'dog']);
  });

  it('replace the labels of updated images and insert those of new ones, in one mixed batch', async () => {
    const labelsOf = async (n: number, tenant = 'acme') =>
      (await search.getImage(tenant, id(n)))?.labels.map((l) => `${l.model}:${l.label}`).sort();
    // Image 2 gets a newer outcome with other labels, image 20 is new, image 3 is re-delivered unchanged.
    const before3 = await labelsOf(3);
    await upsertDocuments(db.pool, [
      doc({ ...SPECS[1]!, minute: 40, labels: [['gamma', 'fox', 0.6]] }),
      doc({
        n: 20,
        minute: 41,
        labels: [
          ['alpha', 'owl', 0.4],
          ['beta', 'owl', 0.5],
        ],
      }),
      doc(SPECS[2]!),
    ]);
    expect(await labelsOf(2)).toEqual(['gamma:fox']);
    expect(await labelsOf(20)).toEqual(['alpha:owl', 'beta:owl']);
    expect(await labelsOf(3)).toEqual(before3);
    // The other tenant's image with the same labels is untouched by acme's upserts.
    expect(await labelsOf(6, 'other')).toEqual(['alpha:dog']);
  });
});
