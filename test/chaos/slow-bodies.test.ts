// Slow bodies (issue #15, item 4): uploads trickled a byte at a time end with 408 request_timeout at
// API_REQUEST_TIMEOUT_MS instead of holding their sockets, and the API keeps serving others meanwhile.
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { readPhoto } from '../fixtures/index.ts';
import { startChaosStack, type ChaosStack } from './stack.ts';

let stack: ChaosStack;
beforeAll(async () => {
  stack = await startChaosStack({ env: { API_REQUEST_TIMEOUT_MS: '2000' } });
});
afterAll(() => stack.stop());

it('trickled bodies get 408 at the request timeout; a normal upload meanwhile is accepted and completes', async () => {
  const url = new URL(stack.api.url);
  const photo = readPhoto('coffee');
  const trickles = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const socket = connect(Number(url.port), url.hostname);
      await once(socket, 'connect');
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.write(
        `POST /v1/images HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: ${photo.length}\r\n\r\n`,
      );
      let sent = 0;
      const timer = setInterval(() => {
        if (!socket.destroyed) socket.write(photo.subarray(sent, ++sent));
      }, 200);
      const started = Date.now();
      await once(socket, 'close');
      clearInterval(timer);
      return { answer, ms: Date.now() - started };
    }),
  );
  const res = await fetch(`${stack.api.url}/v1/images`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: photo,
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  for (const t of trickles) {
    expect(t.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(t.answer).toContain('request_timeout');
  }
  await stack.worker();
  await stack.assertNothingLost([id]);
});
