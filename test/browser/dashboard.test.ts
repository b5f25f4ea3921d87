// The /ui dashboard in a real browser (Debian's chromium driven by playwright-core; nothing downloaded) against
// the real API (startApi: the server's own wiring, workflow included), a worker runtime with the real models,
// the shared Redis and s3rver: sign in with a key, read the overview, see a classified photo's thumbnail with
// its detection boxes and labels, decide a review item, open bull-board with an operator key. Screenshots land
// in test-artifacts/ui/ (gitignored).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyStore } from '@labelq/access';
import { startApi, type ApiServer } from '@labelq/api';
import { loadConfig, type Config } from '@labelq/config';
import type { Batch, StoredJobPayload } from '@labelq/contracts';
import { createClassifyQueue } from '@labelq/queue';
import { createWorkerRuntime, type WorkerRuntime } from '@labelq/worker';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPhoto, repoRoot } from '../fixtures/index.ts';
import { testEnv, testRedisUrl, uniqueName } from '../helpers/env.ts';
import { putTinyImages } from '../helpers/batch-stack.ts';
import { waitForJob } from '../helpers/jobs.ts';
import { startLocalS3, type LocalS3 } from '../helpers/s3.ts';

const CHROMIUM = '/usr/bin/chromium';
const BUCKET = 'labelq-ui-test';
const MODELS = ['coco-nanodet', 'nsfw-mobilenet-v2'];
const SHOTS = join(repoRoot, 'test-artifacts', 'ui');

let s3: LocalS3;
let redis: Redis;
let queue: Queue<StoredJobPayload>;
let runtime: WorkerRuntime;
let api: ApiServer;
let browser: Browser;
let base: string;
let config: Config;
let run: string;
const keys: Record<'viewer' | 'operator' | 'moderator' | 'reviewer', string> = {
  viewer: '',
  operator: '',
  moderator: '',
  reviewer: '',
};

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  await mkdir(SHOTS, { recursive: true });
  s3 = await startLocalS3([BUCKET]);
  run = uniqueName('ui');
  config = loadConfig(
    testEnv({
      redisUrl: testRedisUrl(),
      queueName: run,
      s3Endpoint: s3.endpoint,
      bucket: BUCKET,
      prefix: run,
      extra: {
        REDIS_KEY_PREFIX: run,
        MODELS: MODELS.join(','),
        POOL_THREADS: '1',
        S3_THUMBNAILS_PREFIX: `${run}/thumbs/`,
        // The review test sets its tenant's policy just before uploading.
        TENANT_POLICY_CACHE_MS: '0',
      },
    }),
    2,
  );
  redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1 });
  queue = createClassifyQueue(config, redis);
  const store = new KeyStore(redis, { prefix: run });
  keys.viewer = (await store.create({ tenant: 'acme', scopes: ['submit', 'read', 'metrics'] })).key;
  keys.operator = (await store.create({ tenant: 'ops', scopes: ['operator', 'metrics'] })).key;
  // A tenant whose images go to review: one key submits and sets the policy, a person's key only reviews.
  keys.moderator = (await store.create({ tenant: 'mod', scopes: ['submit', 'read', 'admin'] })).key;
  keys.reviewer = (await store.create({ tenant: 'mod', scopes: ['review'] })).key;
  runtime = await createWorkerRuntime(config, { logger: pino({ level: 'silent' }) });
  api = await startApi(config, pino({ level: 'silent' }), { host: '127.0.0.1', port: 0 });
  base = api.url;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await runtime?.close();
  await queue?.obliterate({ force: true }).catch(() => undefined);
  await queue?.close();
  // The run's prefix, and the webhook and batch control queues beside the classify queue.
  const leftovers = [
    ...(await redis.keys(`${run}:*`)),
    ...(await redis.keys(`${config.queue.prefix}:${run}-*`)),
  ];
  if (leftovers.length > 0) await redis.del(...leftovers);
  redis.disconnect();
  await s3?.stop();
});

/** Uploads a photo as the viewer's tenant and waits for its result. */
async function classify(name: 'astronaut' | 'chelsea'): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([readPhoto(name)], { type: 'image/jpeg' }), `${name}.jpg`);
  const res = await fetch(`${base}/v1/images`, {
    method: 'POST',
    body: form,
    headers: { authorization: `Bearer ${keys.viewer}` },
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  expect((await waitForJob(queue, id, 60_000)).state).toBe('completed');
  return id;
}

/** A fresh browser context signed in with `key` through the login form; page errors are collected. */
async function signIn(key: string) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/ui/login`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname !== '/ui/login');
  return { ctx, page, errors };
}

describe('/ui in Chromium', () => {
  it('signs in with a key, shows the overview, and a classified photo with its detection boxes and labels', async () => {
    const id = await classify('astronaut');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });

    await page.goto(`${base}/ui/`);
    // No key yet: the page sends us to the login.
    await page.waitForURL(`${base}/ui/login`);
    await page.getByLabel('API key').fill('lq_live_not_a_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not accepted \(401\)/);
    await page.getByLabel('API key').fill(keys.viewer);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/ui/`);
    await page.getByText(/^Updated /).waitFor();
    expect(await page.locator('#who').textContent()).toBe('Tenant acme (submit, read, metrics)');
    const tagging = page.getByRole('row', { name: /^tagging/ });
    expect(await tagging.locator('td').allTextContents()).toEqual(['0', '0', '0', '0', '–']);
    expect(await page.locator('#throughput-summary').textContent()).toMatch(/^1 completed and 0 failed/);
    // The operator-only link stays hidden for this key.
    expect(await page.getByRole('link', { name: /bull-board/ }).count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'overview.png'), fullPage: true });

    await page.getByRole('link', { name: 'Results' }).click();
    await page.waitForURL(`${base}/ui/gallery`);
    const card = page.locator(`li[data-id="${id}"]`);
    await card.locator('.frame.loaded').waitFor();
    const img = card.locator('img');
    expect(
      await img.evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth),
    ).toBeGreaterThan(100);
    expect(await img.getAttribute('alt')).toMatch(/^[0-9a-z_-]+\.jpg: .*person \d+%/);
    // The detector's boxes drawn over the image, each labelled.
    const boxes = card.locator('svg.boxes g.box');
    expect(await boxes.count()).toBeGreaterThan(0);
    expect(await card.locator('svg.boxes g.box[data-label="person"] text').first().textContent()).toBe(
      'person',
    );
    const box = await card.locator('svg.boxes rect').first().boundingBox();
    const frame = await card.locator('.frame').boundingBox();
    expect(box!.width).toBeGreaterThan(10);
    expect(box!.x).toBeGreaterThanOrEqual(frame!.x - 1);
    expect(box!.x + box!.width).toBeLessThanOrEqual(frame!.x + frame!.width + 1);
    expect(await card.getByText('allow').count()).toBe(1);
    await card.screenshot({ path: join(SHOTS, 'result-card.png') });
    await page.screenshot({ path: join(SHOTS, 'gallery.png'), fullPage: true });
    // The thumbnail was cached in S3 under the tenant's prefix.
    const cached = await s3.client.send(
      new (await import('@aws-sdk/client-s3')).ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: `${run}/thumbs/acme/`,
      }),
    );
    expect(cached.KeyCount).toBe(1);
    // The one refused sign-in is the only failed request the browser saw.
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    await page.close();
  });

  it('shows the review queue to a reviewer: allowing an image takes it off the queue and into its document', async () => {
    const asModerator = (method: string, path: string, body?: unknown) =>
      fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${keys.moderator}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    // Every image to review: a Sexy score >= 0 always holds.
    expect(
      (await asModerator('PUT', '/v1/policy', { version: 'all-review', review: { Sexy: 0 } })).status,
    ).toBe(200);
    const ids: Record<string, string> = {};
    // An upload's source key is named by its content: <uploads prefix><tenant>/<sha256>.jpg.
    const names: Record<string, string> = {};
    for (const name of ['coffee', 'chelsea'] as const) {
      names[name] = `${createHash('sha256').update(readPhoto(name)).digest('hex')}.jpg`;
      const form = new FormData();
      form.append('file', new Blob([readPhoto(name)], { type: 'image/jpeg' }), `${name}.jpg`);
      const res = await fetch(`${base}/v1/images?purpose=moderation`, {
        method: 'POST',
        body: form,
        headers: { authorization: `Bearer ${keys.moderator}` },
      });
      expect(res.status).toBe(202);
      ids[name] = ((await res.json()) as { id: string }).id;
      expect((await waitForJob(queue, ids[name], 60_000)).state).toBe('completed');
    }

    const { ctx, page, errors } = await signIn(keys.reviewer);
    // A review-only key lands on the queue, and the nav offers it.
    await page.waitForURL(`${base}/ui/reviews`);
    expect(await page.getByRole('link', { name: 'Review queue' }).getAttribute('aria-current')).toBe('page');
    await expect.poll(() => page.getByRole('status').textContent()).toBe('2 waiting for review.');
    const queueList = page.getByRole('list', { name: 'Review queue' });
    const items = queueList.locator(':scope > li');
    const shown = async () => Promise.all((await items.all()).map((li) => li.getAttribute('data-id')));
    // Oldest first: coffee was decided before chelsea.
    expect(await shown()).toEqual([ids.coffee, ids.chelsea]);
    const coffee = page.getByRole('listitem', { name: names.coffee });
    await coffee.locator('.frame.loaded').waitFor();
    expect(
      await coffee.locator('img').evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth),
    ).toBeGreaterThan(100);
    // The reason (the policy's Sexy >= 0 %), the source key under the tenant's uploads, the model's labels, the age.
    expect(await coffee.locator('.reasons li').first().textContent()).toMatch(/^Sexy \d+% ≥ 0%$/);
    expect(await coffee.locator('code').textContent()).toBe(`${BUCKET}/${run}/uploads/mod/${names.coffee}`);
    expect(await coffee.locator('dd').nth(2).textContent()).toMatch(/Neutral \d+%/);
    expect(await coffee.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    await page.screenshot({ path: join(SHOTS, 'reviews.png'), fullPage: true });

    // Keyboard: focus the button by its accessible name and press Enter.
    await page.getByRole('button', { name: `Allow ${names.coffee}` }).focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByRole('status').textContent())
      .toBe(`Allowed ${names.coffee}. 1 waiting for review.`);
    expect(await items.count()).toBe(1);
    // Focus moved on to the next item's first button.
    expect(await page.locator(':focus').getAttribute('aria-label')).toBe(`Allow ${names.chelsea}`);
    await page.screenshot({ path: join(SHOTS, 'reviews-after-allow.png'), fullPage: true });

    // The document records the person's decision beside the model's; the queue no longer lists it.
    const doc = (await (await asModerator('GET', `/v1/images/${ids.coffee}`)).json()) as {
      result: {
        review?: { decision: string; by: string; modelDecision: string };
        moderation: { decision: string };
      };
    };
    expect(doc.result.review).toMatchObject({ decision: 'allow', modelDecision: 'review' });
    expect(doc.result.review?.by).toMatch(/^key_/);
    expect(doc.result.moderation.decision).toBe('review');
    const pending = (await (
      await fetch(`${base}/v1/reviews`, { headers: { authorization: `Bearer ${keys.reviewer}` } })
    ).json()) as { items: { id: string }[] };
    expect(pending.items.map((i) => i.id)).toEqual([ids.chelsea]);
    // A fresh load agrees.
    await page.reload();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('1 waiting for review.');
    expect(await shown()).toEqual([ids.chelsea]);
    // A review-only key sees thumbnails of its review queue only (test/integration/api-thumbnails), and no overview.
    const reviewerGet = (path: string) =>
      fetch(`${base}${path}`, { headers: { authorization: `Bearer ${keys.reviewer}` } });
    expect((await reviewerGet('/v1/ui/overview')).status).toBe(403);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('lists batches and follows one live (SSE) until its progress bar is full', async () => {
    const IMAGES = 30;
    const prefix = `${run}/batch-src/`;
    await putTinyImages(s3, BUCKET, prefix, IMAGES);
    // The classify queue held: the batch lists and queues everything, and the page watches it run from 0.
    await queue.pause();
    const asViewer = { authorization: `Bearer ${keys.viewer}` };
    try {
      const created = await fetch(`${base}/v1/batches`, {
        method: 'POST',
        headers: { ...asViewer, 'content-type': 'application/json' },
        body: JSON.stringify({ source: { bucket: BUCKET, prefix }, models: ['nsfw-mobilenet-v2'] }),
      });
      expect(created.status).toBe(202);
      const { id } = (await created.json()) as { id: string };
      await expect
        .poll(
          async () =>
            ((await (await fetch(`${base}/v1/batches/${id}`, { headers: asViewer })).json()) as Batch).counts
              .queued,
          { timeout: 30_000 },
        )
        .toBe(IMAGES);

      const { ctx, page, errors } = await signIn(keys.viewer);
      await page.getByRole('link', { name: 'Batches' }).click();
      await page.waitForURL(`${base}/ui/batches`);
      const row = page.locator(`tr[data-id="${id}"]`);
      // The list is filled by a fetch after the page loads: wait for the row before reading it.
      await row.waitFor();
      expect(await row.locator('td').allTextContents()).toEqual([
        `${BUCKET}/${prefix}`,
        'running',
        `0 / ${IMAGES}`,
        expect.stringMatching(/\d/) as unknown as string,
      ]);
      await row.getByRole('link', { name: id }).click();
      await page.waitForURL(`${base}/ui/batches/${id}`);
      const bar = page.getByRole('progressbar', { name: 'Progress' });
      await expect.poll(() => page.locator('#live').textContent()).toBe('(live)');
      expect(await bar.getAttribute('max')).toBe(String(IMAGES));
      expect(await page.locator('#progress-text').textContent()).toMatch(
        new RegExp(`^0 of ${IMAGES} items done \\(0 failed\\)`),
      );
      await page.screenshot({ path: join(SHOTS, 'batch-running.png'), fullPage: true });
      // Everything from here on arrives over the event stream: the page is not reloaded (the marker stays).
      await page.evaluate(
        `window.__seen = []; window.__marker = 'same page';
         new MutationObserver(() => window.__seen.push(document.getElementById('progress').value))
           .observe(document.getElementById('progress'), { attributes: true });`,
      );
      await queue.resume();
      await page.locator('main[data-status="completed"]').waitFor({ timeout: 90_000 });
      expect(await page.getByRole('status').textContent()).toBe('Batch completed.');
      expect(await bar.evaluate((b) => (b as unknown as { value: number }).value)).toBe(IMAGES);
      expect(await page.locator('#progress-text').textContent()).toMatch(
        new RegExp(`^${IMAGES} of ${IMAGES} items done \\(0 failed\\)`),
      );
      expect(await page.evaluate('window.__marker')).toBe('same page');
      expect((await page.evaluate<number[]>('window.__seen')).at(-1)).toBe(IMAGES);
      // The stream ended with the batch: no reconnecting.
      expect(await page.locator('#live').textContent()).toBe('');
      await page.screenshot({ path: join(SHOTS, 'batch-done.png'), fullPage: true });

      await page.getByRole('link', { name: 'All batches' }).click();
      expect(await row.locator('td').nth(2).textContent()).toBe(`${IMAGES} / ${IMAGES}`);
      expect(errors).toEqual([]);
      await ctx.close();
    } finally {
      await queue.resume();
    }
  });

  it('opens bull-board for an operator key only', async () => {
    const anonymous = await browser.newContext();
    const denied = await anonymous.request.get(`${base}/ui/queues/`);
    expect(denied.status(), await denied.text()).toBe(401);
    expect(denied.headers()['www-authenticate']).toMatch(/^Basic /);
    await anonymous.close();
    const viewer = await browser.newContext({
      httpCredentials: { username: 'viewer', password: keys.viewer },
    });
    expect((await viewer.request.get(`${base}/ui/queues/`)).status()).toBe(403);
    await viewer.close();

    const ctx = await browser.newContext({
      httpCredentials: { username: 'operator', password: keys.operator },
    });
    const page = await ctx.newPage();
    await page.goto(`${base}/ui/queues/`);
    await page.getByText(run).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SHOTS, 'bull-board.png'), fullPage: true });
    await ctx.close();
  });
});
