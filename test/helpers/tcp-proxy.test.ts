// The fault modes of our TCP proxy (test/helpers/tcp-proxy.ts) against a plain TCP server on loopback: the chaos
// scenarios rely on each mode doing exactly what it says.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

const BIG = 10_000;
const HEAD = 'HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n';
let server: Server;
let proxy: TcpProxy;
/** Bytes the server received per connection, and how each connection ended. */
let received: { bytes: number; ended: 'open' | 'end' | 'error' }[];

beforeEach(async () => {
  received = [];
  // Answers `ping` with `pong` and `big` with an HTTP-like message (a header block, then BIG bytes of 'x');
  // counts what it gets.
  server = createServer((socket) => {
    const conn = { bytes: 0, ended: 'open' as 'open' | 'end' | 'error' };
    received.push(conn);
    socket.on('data', (d: Buffer) => {
      conn.bytes += d.length;
      const text = d.toString();
      if (text.startsWith('ping')) socket.write('pong');
      if (text.startsWith('big')) socket.write(Buffer.concat([Buffer.from(HEAD), Buffer.alloc(BIG, 'x')]));
    });
    socket.on('end', () => (conn.ended = 'end'));
    socket.on('error', () => (conn.ended = 'error'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  proxy = await startTcpProxy({ host: '127.0.0.1', port: typeof address === 'object' ? address!.port : 0 });
});
afterEach(async () => {
  await proxy.close();
  server.close();
});

async function open(): Promise<{ socket: Socket; data: () => Buffer; closed: Promise<string> }> {
  const socket = connect(Number(new URL(proxy.endpoint).port), '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<string>((resolve) => {
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    socket.on('close', () => resolve('close'));
  });
  return { socket, data: () => Buffer.concat(chunks), closed };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 3000): Promise<number> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await sleep(5);
  }
  return Date.now() - t0;
}

it('setLatency delays the server bytes by the latency, then stops delaying', async () => {
  const c = await open();
  // A latency far above a loopback round trip even on a loaded machine, so "no longer delayed" is told apart
  // by a wide margin rather than by a tight wall-clock bound.
  const latencyMs = 1500;
  proxy.setLatency(latencyMs);
  c.socket.write('ping');
  const took = await until(() => c.data().toString() === 'pong');
  expect(took).toBeGreaterThanOrEqual(latencyMs - 20);
  proxy.setLatency(0);
  c.socket.write('ping');
  expect(await until(() => c.data().toString() === 'pongpong')).toBeLessThan(latencyMs - 20);
  c.socket.destroy();
});

it('blackhole holds both directions, on open and new connections, without closing; heal delivers', async () => {
  const a = await open();
  proxy.blackhole();
  a.socket.write('ping');
  const b = await open();
  b.socket.write('ping');
  await sleep(400);
  expect(a.data().length).toBe(0);
  expect(b.data().length).toBe(0);
  // The server saw only the first connection (made before the partition), and none of its bytes.
  expect(received).toEqual([{ bytes: 0, ended: 'open' }]);
  expect(a.socket.destroyed || b.socket.destroyed).toBe(false);
  proxy.heal();
  await until(() => a.data().toString() === 'pong' && b.data().toString() === 'pong');
  expect(received.map((r) => r.bytes)).toEqual([4, 4]);
  a.socket.destroy();
  b.socket.destroy();
});

it('cutWhen response: the headers and afterBodyBytes of the body arrive, then the connection is reset', async () => {
  const c = await open();
  const cut = proxy.cutWhen(/^big/, { afterBodyBytes: 3000, direction: 'response' });
  c.socket.write('big');
  await cut;
  expect(await c.closed).toBe('ECONNRESET');
  expect(c.data().length).toBe(HEAD.length + 3000);
});

it('cutWhen request: the headers and afterBodyBytes of an upload reach the server, then both sides are reset', async () => {
  const c = await open();
  const cut = proxy.cutWhen(/^POST \/upload/, { afterBodyBytes: 2500, direction: 'request' });
  // The header block arrives in two writes, its blank line split between them.
  const head = 'POST /upload HTTP/1.1\r\nContent-Length: 10000\r\n\r\n';
  c.socket.write(head.slice(0, -3));
  await sleep(50);
  c.socket.write(Buffer.concat([Buffer.from(head.slice(-3)), Buffer.alloc(BIG, 'y')]));
  await cut;
  expect(await c.closed).toBe('ECONNRESET');
  await until(() => received[0]?.ended !== 'open');
  expect(received[0]).toEqual({ bytes: head.length + 2500, ended: 'error' });
  expect(proxy.requests).toEqual(['POST /upload HTTP/1.1']);
  // A cut applies once: the next matching request passes in full.
  const d = await open();
  d.socket.write('big');
  await until(() => d.data().length === HEAD.length + BIG);
  d.socket.destroy();
});
