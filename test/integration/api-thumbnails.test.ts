// Who may see a thumbnail (GET /v1/ui/thumbnails/:id), over real HTTP, API keys in the shared Redis and an
// embedded s3rver holding real result documents and a real JPEG: every scope against every state an image can be
// in. A `read` key sees every completed image of its tenant; a `review`-only key sees the images of its tenant's
// review queue (pending or decided) and nothing else; no key sees another tenant's images.
import { KeyStore } from '@labelq/access';
import type { HumanReview, ResultDocument, Scope } from '@labelq/contracts';
import { sampleFailureDocument, sampleResultDocument } from '@labelq/contracts/testing';
import { createObjectStore, type ObjectStore } from '@labelq/storage';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiStack, type ApiStack } from '../helpers/api-stack.ts';

const BUCKET = 'labelq-thumbnails-test';
const TENANT = 'acme';
const OTHER = 'globex';

let stack: ApiStack;
let store: ObjectStore;
const keys: Record<string, string> = {};

/** The image states: what the tenant's result document (if any) says. */
type State =
  | 'tagging'
  | 'allow'
  | 'block'
  | 'pending'
  | 'decided'
  | 'redecidedOut'
  | 'failed'
  | 'missing'
  | 'forgedTenant';
const STATES: State[] = [
  'tagging',
  'allow',
  'block',
  'pending',
  'decided',
  'redecidedOut',
  'failed',
  'missing',
  'forgedTenant',
];
/** Ids per state (this tenant's), and one pending image of the other tenant. */
const ids = {} as Record<State | 'otherPending', string>;

const review: HumanReview = {
  v: 1,
  decision: 'block',
  by: 'key_reviewer',
  at: '2026-01-01T00:05:00.000Z',
  modelDecision: 'review',
  policy: 'p1',
};

function moderated(
  id: string,
  tenant: string,
  decision: 'allow' | 'review' | 'block',
  over: Partial<ResultDocument> = {},
): ResultDocument {
  return sampleResultDocument(id, {
    tenant,
    source: { bucket: BUCKET, key: `src/${tenant}.jpg`, etag: `"${id}"`, bytes: 1 },
    purpose: 'moderation',
    moderation: { decision, reasons: [], policy: 'p1', models: ['nsfw-mobilenet-v2'] },
    ...over,
  });
}

function documentFor(state: State, id: string): ResultDocument | ReturnType<typeof sampleFailureDocument> {
  switch (state) {
    case 'tagging':
      return sampleResultDocument(id, {
        tenant: TENANT,
        source: { bucket: BUCKET, key: `src/${TENANT}.jpg`, etag: `"${id}"`, bytes: 1 },
      });
    case 'allow':
    case 'block':
      return moderated(id, TENANT, state);
    case 'pending':
      return moderated(id, TENANT, 'review');
    case 'decided':
      return moderated(id, TENANT, 'review', { review });
    case 'redecidedOut':
      return moderated(id, TENANT, 'allow', {
        redecided: { at: '2026-01-01T00:06:00.000Z', fromPolicy: 'p0', fromDecision: 'review' },
      });
    case 'failed':
      return sampleFailureDocument(id, { tenant: TENANT });
    case 'forgedTenant':
      // Under this tenant's prefix but naming another tenant: never served as this tenant's.
      return moderated(id, OTHER, 'review');
    case 'missing':
      throw new Error('a missing image has no document');
  }
}

beforeAll(async () => {
  stack = await startApiStack({
    name: 'thumbnails',
    buckets: [BUCKET],
    deps: ({ redis, config }) => ({ keys: new KeyStore(redis, { prefix: config.redis.keyPrefix }) }),
  });
  store = createObjectStore(stack.config.s3);
  const jpeg = await sharp({
    create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 40, b: 40 } },
  })
    .jpeg()
    .toBuffer();
  for (const tenant of [TENANT, OTHER]) {
    await store.putObject(BUCKET, `src/${tenant}.jpg`, jpeg, {
      contentType: 'image/jpeg',
      contentLength: jpeg.byteLength,
    });
  }
  let n = 0;
  const newId = (): string => `img_${(++n).toString(16).padStart(32, 'a')}`;
  for (const state of STATES) {
    ids[state] = newId();
    if (state === 'missing') continue;
    await store.putJson(BUCKET, store.resultKey(TENANT, ids[state]), documentFor(state, ids[state]));
  }
  ids.otherPending = newId();
  await store.putJson(
    BUCKET,
    store.resultKey(OTHER, ids.otherPending),
    moderated(ids.otherPending, OTHER, 'review'),
  );
  const keyStore = new KeyStore(stack.redis, { prefix: stack.config.redis.keyPrefix });
  const make = async (tenant: string, scopes: Scope[]): Promise<string> =>
    (await keyStore.create({ tenant, scopes })).key;
  keys.read = await make(TENANT, ['read']);
  keys.review = await make(TENANT, ['review']);
  keys.readReview = await make(TENANT, ['read', 'review']);
  keys.submit = await make(TENANT, ['submit', 'admin']);
  keys.otherTenant = await make(OTHER, ['read', 'review']);
});

afterAll(async () => {
  store?.destroy();
  await stack?.stop();
});

async function thumbnail(key: string, id: string): Promise<{ status: number; code?: string; webp: boolean }> {
  const res = await fetch(`${stack.base}/v1/ui/thumbnails/${id}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status === 200) {
    const webp =
      res.headers.get('content-type') === 'image/webp' &&
      bytes.subarray(0, 4).toString() === 'RIFF' &&
      bytes.subarray(8, 12).toString() === 'WEBP';
    return { status: 200, webp };
  }
  return {
    status: res.status,
    code: (JSON.parse(bytes.toString()) as { error: { code: string } }).error.code,
    webp: false,
  };
}

const OK = { status: 200, webp: true };
const NOT_FOUND = { status: 404, code: 'not_found', webp: false };
const FORBIDDEN = { status: 403, code: 'insufficient_scope', webp: false };

/** What a `read` key gets today, and keeps: every completed image of its tenant. */
const readSees: Record<State, typeof OK | typeof NOT_FOUND> = {
  tagging: OK,
  allow: OK,
  block: OK,
  pending: OK,
  decided: OK,
  redecidedOut: OK,
  failed: NOT_FOUND,
  missing: NOT_FOUND,
  forgedTenant: NOT_FOUND,
};
/** A `review`-only key: the review queue, pending or decided; everything else looks missing (no oracle). */
const reviewSees: Record<State, typeof OK | typeof NOT_FOUND> = {
  tagging: NOT_FOUND,
  allow: NOT_FOUND,
  block: NOT_FOUND,
  pending: OK,
  decided: OK,
  redecidedOut: NOT_FOUND,
  failed: NOT_FOUND,
  missing: NOT_FOUND,
  forgedTenant: NOT_FOUND,
};

const table: [keyof typeof keys, State | 'otherPending', object][] = [
  ...STATES.map((s): [string, State, object] => ['read', s, readSees[s]]),
  ...STATES.map((s): [string, State, object] => ['review', s, reviewSees[s]]),
  ...STATES.map((s): [string, State, object] => ['readReview', s, readSees[s]]),
  ...STATES.map((s): [string, State, object] => ['submit', s, FORBIDDEN]),
  // Never across tenants: this tenant's images for the other tenant's key, and the other way round.
  ...STATES.map((s): [string, State, object] => ['otherTenant', s, NOT_FOUND]),
  ['read', 'otherPending', NOT_FOUND],
  ['review', 'otherPending', NOT_FOUND],
  ['readReview', 'otherPending', NOT_FOUND],
  ['otherTenant', 'otherPending', OK],
];

describe('thumbnails: scopes x image states', () => {
  it.each(table)('a %s key, a %s image -> %j', async (key, state, expected) => {
    expect(await thumbnail(keys[key]!, ids[state])).toEqual(expected);
  });
});
