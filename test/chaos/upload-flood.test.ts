// An upload flood (issue #15, item 2): 80 parallel distinct uploads against a budget of a few bodies. Every
// answer is 202 or one of the API's own capacity answers with Retry-After: 503 uploads_busy (the budget is
// full) or, should the loop be too busy to read Redis's answer in time, 503 server_busy; never a false
// queue_unavailable (Redis is healthy throughout). A client that retries the busy ones gets all accepted, and
// every accepted job completes.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readPhoto } from '../fixtures/index.ts';
import { startChaosStack, type Accepted, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
const photo = readPhoto('chelsea');
beforeAll(async () => {
  stack = await startChaosStack({
    env: { MAX_UPLOAD_BYTES: String(64 * 1024), API_MAX_UPLOAD_BYTES_IN_FLIGHT: String(4 * 64 * 1024) },
  });
});
afterAll(() => stack.stop());

it('a flood of parallel uploads is bounded, answered honestly and loses nothing', async () => {
  // Distinct bytes per upload (a trailer after the JPEG's end marker): distinct ids, no dedup.
  const bodies = Array.from({ length: 80 }, (_, i) => Buffer.concat([photo, Buffer.from(`#${i}`)]));
  const statuses = new Map<number, number>();
  const accepted: Accepted[] = [];
  let pending = bodies.map((_, i) => i);
  for (let round = 0; round < 60 && pending.length > 0; round++) {
    const results = await Promise.all(
      pending.map(async (i) => {
        const res = await fetch(`${stack.api.url}/v1/images`, {
          method: 'POST',
          headers: { 'content-type': 'image/jpeg' },
          body: bodies[i],
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const body = (await res.json()) as Accepted & { error?: { code: string } };
        if (res.status === 202) accepted.push(body);
        else {
          expect(res.status).toBe(503);
          expect(['uploads_busy', 'server_busy']).toContain(body.error?.code);
          expect(res.headers.get('retry-after')).toBe('1');
        }
        return res.status === 202 ? undefined : i;
      }),
    );
    pending = results.filter((i): i is number => i !== undefined);
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 200));
  }
  expect(pending).toEqual([]);
  // The budget (four bodies) was full at least once: the flood was refused, and still lost nothing.
  expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
  expect(accepted).toHaveLength(bodies.length);
  await stack.worker();
  const states = await stack.assertNothingLost(accepted.map((a) => a.id));
  expect([...states.values()].every((s) => s === 'completed')).toBe(true);
});
