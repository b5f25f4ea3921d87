// An upload the API refuses before reading its body (the upload budget is full, the declared size is over the
// limit, the key is missing) or while reading it (over the limit) reaches the client as an HTTP answer with its
// coded error, never as a dropped connection: over real HTTP with node's client (keep-alive or not, with and
// without `Expect: 100-continue`) and fetch (undici).
import { once } from 'node:events';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiStack, type ApiStack } from '../helpers/api-stack.ts';
import { readPhoto } from '../fixtures/index.ts';

const BUCKET = 'labelq-upload-refusal-test';
/** Large enough that a client still writes it when the refusal comes (loopback socket buffers are ~2.5 MB). */
const BODY_BYTES = 8 * 1024 * 1024;
const photo = readPhoto('coffee');

let stack: ApiStack;
let url: URL;

beforeAll(async () => {
  stack = await startApiStack({
    name: 'api-upload-refusal',
    buckets: [BUCKET],
    env: { MAX_UPLOAD_BYTES: String(BODY_BYTES), API_MAX_UPLOAD_BYTES_IN_FLIGHT: String(BODY_BYTES) },
  });
  url = new URL(stack.base);
});
afterAll(async () => {
  await stack?.stop();
});

interface Answer {
  status: number;
  code: string | undefined;
  headers: IncomingHttpHeaders;
  /** Body bytes the client had written when it learnt the answer. */
  sent: number;
  /** Whether the server sent `100 Continue`. */
  continued: boolean;
}

/**
 * POSTs `bytes` of a JPEG-looking body with node's http client, streamed in 64 KiB writes as a real uploader
 * does, and resolves with the answer. A connection error before an answer rejects: that is the defect.
 */
function post(
  bytes: number,
  options: { agent: Agent; expectContinue?: boolean; contentLength?: number; path?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let continued = false;
    const req = request({
      host: url.hostname,
      port: Number(url.port),
      method: 'POST',
      path: options.path ?? '/v1/images',
      agent: options.agent,
      headers: {
        'content-type': 'image/jpeg',
        ...(options.contentLength !== undefined ? { 'content-length': options.contentLength } : {}),
        ...(options.expectContinue === true ? { expect: '100-continue' } : {}),
      },
    });
    const chunk = Buffer.alloc(64 * 1024, 0x42);
    photo.copy(chunk, 0, 0, Math.min(photo.length, chunk.length));
    let answered = false;
    const writeMore = (): void => {
      while (sent < bytes && !answered && !req.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, bytes - sent));
        sent += piece.length;
        if (sent >= bytes) return void req.end(piece);
        if (!req.write(piece)) return void req.once('drain', writeMore);
      }
    };
    // With Expect: 100-continue the body goes only once the server says so (node emits 'continue').
    if (options.expectContinue === true) {
      req.on('continue', () => {
        continued = true;
        writeMore();
      });
      req.flushHeaders();
    } else writeMore();
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let code: string | undefined;
        try {
          code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
        } catch {
          code = undefined;
        }
        resolve({ status: res.statusCode ?? 0, code, headers: res.headers, sent, continued });
        // The rest of the body is of no use to anyone now.
        if (!req.writableFinished) req.destroy();
      });
      res.on('error', reject);
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
  });
}

/** Opens an upload that reserves the whole budget (its declared length) and sends half its body. */
async function holdTheBudget(): Promise<() => void> {
  const socket = connect(Number(url.port), url.hostname);
  await once(socket, 'connect');
  socket.on('error', () => undefined);
  socket.write(
    `POST /v1/images HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: ${BODY_BYTES}\r\n\r\n`,
  );
  socket.write(photo);
  // The reservation happens when the route runs: wait until a small upload is refused for it.
  for (let i = 0; i < 100; i++) {
    const probe = await fetch(`${stack.base}/v1/images`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: photo,
    });
    await probe.arrayBuffer();
    if (probe.status === 503) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return () => socket.destroy();
}

describe('a refused upload reaches the client as an answer', () => {
  let release: () => void;
  beforeAll(async () => {
    release = await holdTheBudget();
  });
  afterAll(() => release());

  const clients = [
    ['a client that closes after each request (Connection: close)', false],
    ['a keep-alive client', true],
  ] as const;

  describe.each(clients)('%s', (_name, keepAlive) => {
    it.each([false, true])(
      'uploads_busy before the body is read (Expect: 100-continue %s): 503 with its code and Retry-After',
      async (expectContinue) => {
        // Node sends Connection: close only from an agent without keep-alive and without a socket limit.
        const agent = new Agent(keepAlive ? { keepAlive, maxSockets: 1 } : { keepAlive });
        try {
          for (let i = 0; i < 5; i++) {
            const answer = await post(BODY_BYTES, { agent, expectContinue, contentLength: BODY_BYTES });
            expect(answer).toMatchObject({ status: 503, code: 'uploads_busy' });
            expect(answer.headers['retry-after']).toBe('1');
            // A refusal that did not read the body says the connection ends (RFC 9110 §10.1.1).
            expect(answer.headers.connection).toBe('close');
            if (expectContinue) {
              // Refused before the body was sent: not one byte of it crossed the network.
              expect(answer.continued).toBe(false);
              expect(answer.sent).toBe(0);
            }
          }
        } finally {
          agent.destroy();
        }
      },
    );
  });

  it('a client that reads the answer only after sending its whole body still gets it', async () => {
    // The plainest uploader: write everything, then read. Closed at once after its answer, the connection would
    // be reset by the body still arriving, and the reset erases the unread answer on the client's side.
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    socket.pause();
    const body = Buffer.alloc(3 * BODY_BYTES, 0x42);
    photo.copy(body);
    socket.write(
      'POST /v1/images HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n' +
        'Connection: close\r\n\r\n',
    );
    socket.write(`${body.length.toString(16)}\r\n`);
    socket.write(body);
    const written = new Promise<void>((resolve, reject) => {
      socket.write('\r\n0\r\n\r\n', (err) => (err ? reject(err) : resolve()));
    });
    await written;
    socket.resume();
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    await once(socket, 'end');
    socket.destroy();
    expect(received).toMatch(/^HTTP\/1\.1 503 /);
    expect(received).toMatch(/"code":"uploads_busy"/);
  });

  it('a chunked upload (no Content-Length) refused for the budget: 503 uploads_busy', async () => {
    const agent = new Agent({ keepAlive: false });
    try {
      const answer = await post(BODY_BYTES, { agent });
      expect(answer).toMatchObject({ status: 503, code: 'uploads_busy' });
    } finally {
      agent.destroy();
    }
  });

  it('fetch (undici) with a streamed body: 503 uploads_busy', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x42);
    let left = BODY_BYTES / chunk.length;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (left-- > 0) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${stack.base}/v1/images`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg', 'content-length': String(BODY_BYTES) },
      body,
      duplex: 'half',
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('uploads_busy');
  });
});

describe('refusals of the body itself', () => {
  it('a body over MAX_UPLOAD_BYTES without Content-Length (chunked): 413 payload_too_large once it passes', async () => {
    const agent = new Agent({ keepAlive: false });
    try {
      const answer = await post(BODY_BYTES + 4 * 1024 * 1024, { agent });
      expect(answer).toMatchObject({ status: 413, code: 'payload_too_large' });
    } finally {
      agent.destroy();
    }
  });

  it.each([false, true])(
    'a declared Content-Length over MAX_UPLOAD_BYTES (Expect: 100-continue %s): 413 before the body',
    async (expectContinue) => {
      const agent = new Agent({ keepAlive: false });
      const bytes = BODY_BYTES + 1024 * 1024;
      try {
        const answer = await post(bytes, { agent, expectContinue, contentLength: bytes });
        expect(answer).toMatchObject({ status: 413, code: 'payload_too_large' });
        if (expectContinue) expect(answer.sent).toBe(0);
      } finally {
        agent.destroy();
      }
    },
  );

  it('an accepted upload with Expect: 100-continue gets 100 Continue, sends its body and is queued', async () => {
    const agent = new Agent({ keepAlive: false });
    try {
      // A body of its own (a trailer after the JPEG): not a duplicate of another test's upload.
      const bytes = photo.length + 64 * 1024;
      const answer = await post(bytes, { agent, expectContinue: true, contentLength: bytes });
      expect(answer).toMatchObject({ status: 202, continued: true, sent: bytes });
    } finally {
      agent.destroy();
    }
  });
});
