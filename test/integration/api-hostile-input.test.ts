// Hostile HTTP input against a real listening API (shared Redis, embedded s3rver, no worker): every row gets a
// coded 4xx body and nothing else happens (nothing queued, the API still answers). To add a case, add a row to
// `rows`: `request` is either what fetch sends or, for what fetch cannot send (oversized headers, a body that
// stalls, bytes that are not HTTP), raw bytes written to a TCP socket.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiStack, type ApiStack } from '../helpers/api-stack.ts';
import { readPhoto } from '../fixtures/index.ts';

const BUCKET = 'labelq-hostile-test';
/** API_REQUEST_TIMEOUT_MS here: small, so a stalled request answers 408 within a few seconds. */
const REQUEST_TIMEOUT_MS = 1500;
/** /v1/jobs' body limit (8 MiB). */
const JOBS_BODY_LIMIT = 8 * 1024 * 1024;
const CSP = "default-src 'none';frame-ancestors 'none'";

/** What fetch sends: `body` may be a function so big or one-shot bodies (streams) are built per run. */
interface FetchRequest {
  method?: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: RequestInit['body'] | (() => RequestInit['body']);
}
/** Bytes written to a raw socket as they are; the test then reads until the server closes the connection. */
interface RawRequest {
  raw: string;
}
interface Row {
  name: string;
  request: FetchRequest | RawRequest;
  expect: {
    status: number;
    /** The error code; absent for an accepted boundary case (2xx). */
    code?: string;
    /** Text the error message must contain (the limit it names, the field it names). */
    message?: string;
    /** Jobs this request may add to the queue. Default 0: a refused request queues nothing. */
    queued?: number;
    /** Bounds on how long the answer takes, ms (the request timeout). */
    withinMs?: [min: number, max: number];
  };
}

// ---- Bodies -------------------------------------------------------------------------------------------------

const JSON_TYPE = { 'content-type': 'application/json' };
const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
/** A JPEG's first bytes: enough for requests refused before the image is looked at. */
const JPEG_START = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10]);
const bigJobsBody = (): string =>
  JSON.stringify({ key: 'big.jpg', metadata: { x: 'y'.repeat(JOBS_BODY_LIMIT + 1024) } });
/** The same oversized body, chunked (no Content-Length): refused by counting while it streams in. */
const chunked = (text: string) => (): ReadableStream<Uint8Array> => {
  const bytes = Buffer.from(text);
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += 65_536) controller.enqueue(bytes.subarray(i, i + 65_536));
      controller.close();
    },
  });
};
const formWith = (fields: Record<string, string>, file?: Uint8Array): FormData => {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  if (file) fd.append('file', new Blob([file], { type: 'image/jpeg' }), 'photo.jpg');
  return fd;
};
const postJobs = (body: string, headers: Record<string, string> = JSON_TYPE): FetchRequest => ({
  path: '/v1/jobs',
  headers,
  body,
});
const key = (k: string): FetchRequest => postJobs(JSON.stringify({ key: k }));
/** A raw HTTP/1.1 request: `head` lines after the request line, then `body` (maybe less than it declares). */
const rawRequest = (requestLine: string, head: string[], body = ''): RawRequest => ({
  raw: `${requestLine}\r\nHost: 127.0.0.1\r\n${head.map((h) => `${h}\r\n`).join('')}\r\n${body}`,
});

// ---- The table ----------------------------------------------------------------------------------------------

const rows: Row[] = [
  // JSON bodies.
  {
    name: 'malformed JSON',
    request: postJobs('{"key":'),
    expect: { status: 400, code: 'invalid_request' },
  },
  {
    name: 'an empty JSON body',
    request: postJobs(''),
    expect: { status: 400, code: 'invalid_request' },
  },
  {
    name: 'JSON with a __proto__ key (prototype poisoning)',
    request: postJobs('{"key":"a.jpg","metadata":{"__proto__":{"polluted":true}}}'),
    expect: { status: 400, code: 'invalid_request' },
  },
  {
    name: 'JSON over the body limit (Content-Length)',
    request: { path: '/v1/jobs', headers: JSON_TYPE, body: bigJobsBody },
    expect: { status: 413, code: 'payload_too_large' },
  },
  {
    name: 'JSON over the body limit (chunked, no Content-Length)',
    request: { path: '/v1/jobs', headers: JSON_TYPE, body: chunked(bigJobsBody()) },
    expect: { status: 413, code: 'payload_too_large' },
  },
  {
    name: 'JSON nested 10,000 levels deep inside metadata',
    request: postJobs(`{"key":"deep.jpg","metadata":{"x":${nested(10_000)}}}`),
    expect: { status: 400, code: 'invalid_request', message: '32 levels' },
  },
  {
    name: 'JSON nested 33 levels deep inside a bulk item',
    request: postJobs(`[{"key":"deep.jpg","metadata":{"x":${nested(30)}}}]`),
    expect: { status: 400, code: 'invalid_request', message: '32 levels' },
  },
  {
    name: 'accepted: JSON nested exactly 32 levels deep (object, metadata, 30 arrays)',
    request: postJobs(`{"key":"deep-ok.jpg","metadata":{"x":${nested(30)}}}`),
    expect: { status: 202, queued: 1 },
  },
  {
    name: 'a 1001-item bulk request',
    request: postJobs(JSON.stringify(Array.from({ length: 1001 }, (_, i) => ({ key: `bulk/${i}.jpg` })))),
    expect: { status: 400, code: 'invalid_request', message: '1000' },
  },
  {
    name: 'metadata over 4 KB',
    request: postJobs(JSON.stringify({ key: 'a.jpg', metadata: { x: 'y'.repeat(4100) } })),
    expect: { status: 400, code: 'invalid_request', message: '4096 bytes' },
  },
  {
    name: 'an unknown field in a job item',
    request: postJobs(JSON.stringify({ key: 'a.jpg', priority: 'urgent' })),
    expect: { status: 400, code: 'invalid_request', message: 'priority' },
  },
  {
    name: 'an unknown field in one item of a bulk request',
    request: postJobs(JSON.stringify([{ key: 'a.jpg' }, { key: 'b.jpg', callback: 'http://x' }])),
    expect: { status: 400, code: 'invalid_request', message: 'callback' },
  },

  // S3 keys.
  {
    name: 'a key with a ".." segment',
    request: key('a/../b.jpg'),
    expect: { status: 400, code: 'invalid_request', message: '".."' },
  },
  {
    name: 'a key starting with "../"',
    request: key('../etc/passwd'),
    expect: { status: 400, code: 'invalid_request' },
  },
  {
    name: 'a key starting with "./"',
    request: key('./x.jpg'),
    expect: { status: 400, code: 'invalid_request' },
  },
  {
    name: 'a key ending in "/.."',
    request: key('photos/..'),
    expect: { status: 400, code: 'invalid_request' },
  },
  { name: 'accepted: ".." inside a name', request: key('a..b.jpg'), expect: { status: 202, queued: 1 } },
  {
    name: 'a key with NUL',
    request: key('a\u0000b.jpg'),
    expect: { status: 400, code: 'invalid_request', message: 'control characters' },
  },
  {
    name: 'a key with a newline',
    request: key('a\nb.jpg'),
    expect: { status: 400, code: 'invalid_request' },
  },
  { name: 'a key with DEL', request: key('a\u007fb.jpg'), expect: { status: 400, code: 'invalid_request' } },
  {
    name: 'a key with a lone UTF-16 surrogate',
    request: postJobs('{"key":"a\\ud800b.jpg"}'),
    expect: { status: 400, code: 'invalid_request', message: 'Unicode' },
  },
  {
    name: 'a key of 1025 bytes (513 characters)',
    request: key('é'.repeat(512) + 'a'),
    expect: { status: 400, code: 'invalid_request', message: '1024 bytes' },
  },
  {
    name: 'accepted: a key of 1024 bytes in 512 two-byte characters',
    request: key('é'.repeat(512)),
    expect: { status: 202, queued: 1 },
  },
  { name: 'an empty key', request: key(''), expect: { status: 400, code: 'invalid_request' } },

  // Uploads: unknown options, nested metadata.
  {
    name: 'an unknown query parameter on an upload',
    request: {
      path: '/v1/images?model=alpha-net',
      headers: { 'content-type': 'image/jpeg' },
      body: JPEG_START,
    },
    expect: { status: 400, code: 'invalid_request', message: '"model"' },
  },
  {
    name: 'an unknown multipart field on an upload',
    request: { path: '/v1/images', body: () => formWith({ callback: 'http://x' }, readPhoto('chelsea')) },
    expect: { status: 400, code: 'invalid_request', message: 'callback' },
  },
  {
    name: 'upload metadata nested 200 levels deep',
    request: {
      path: `/v1/images?metadata=${encodeURIComponent(`{"x":${nested(200)}}`)}`,
      headers: { 'content-type': 'image/jpeg' },
      body: JPEG_START,
    },
    expect: { status: 400, code: 'invalid_request', message: '32 levels' },
  },

  // Content types.
  {
    name: 'text/plain to /v1/jobs',
    request: postJobs(JSON.stringify({ key: 'a.jpg' }), { 'content-type': 'text/plain' }),
    expect: { status: 415, code: 'unsupported_media_type', message: 'application/json' },
  },
  {
    name: 'a body without Content-Type to /v1/jobs',
    request: { path: '/v1/jobs', body: new TextEncoder().encode('{"key":"a.jpg"}') },
    expect: { status: 415, code: 'unsupported_media_type' },
  },
  {
    name: 'application/x-www-form-urlencoded to /v1/jobs',
    request: { path: '/v1/jobs', body: new URLSearchParams({ key: 'a.jpg' }) },
    expect: { status: 415, code: 'unsupported_media_type' },
  },
  {
    name: 'multipart/form-data to /v1/jobs',
    request: { path: '/v1/jobs', body: () => formWith({ key: 'a.jpg' }) },
    expect: { status: 415, code: 'unsupported_media_type' },
  },
  {
    name: 'application/xml to /v1/jobs',
    request: postJobs('<key>a.jpg</key>', { 'content-type': 'application/xml' }),
    expect: { status: 415, code: 'unsupported_media_type' },
  },
  {
    name: 'an unparseable Content-Type to /v1/jobs',
    request: postJobs('{"key":"a.jpg"}', { 'content-type': 'not a type' }),
    expect: { status: 415, code: 'unsupported_media_type' },
  },
  {
    // The upload route reads its own body: a JSON body is the wrong media type, like text/plain
    // (test/integration/api.test.ts); unsupported_format stays for image bytes that are not an allowed image.
    name: 'application/json to /v1/images',
    request: { path: '/v1/images', headers: JSON_TYPE, body: JSON.stringify({ file: 'x' }) },
    expect: { status: 415, code: 'unsupported_media_type' },
  },
  {
    name: 'application/x-www-form-urlencoded to /v1/images',
    request: { path: '/v1/images', body: new URLSearchParams({ file: 'x' }) },
    expect: { status: 415, code: 'unsupported_media_type' },
  },

  // What node's HTTP parser refuses before any route runs (raw sockets: fetch cannot send these).
  {
    name: 'headers over 16 KB',
    request: rawRequest('GET /healthz HTTP/1.1', [`X-Padding: ${'a'.repeat(17 * 1024)}`]),
    expect: { status: 431, code: 'headers_too_large', message: '16384 bytes' },
  },
  {
    name: 'a body that stalls (request timeout)',
    request: rawRequest(
      'POST /v1/jobs HTTP/1.1',
      ['Content-Type: application/json', 'Content-Length: 100'],
      '{"key":"slow',
    ),
    expect: {
      status: 408,
      code: 'request_timeout',
      message: `${REQUEST_TIMEOUT_MS} ms`,
      withinMs: [REQUEST_TIMEOUT_MS - 100, REQUEST_TIMEOUT_MS + 3000],
    },
  },
  {
    name: 'headers that stall (request timeout)',
    request: { raw: 'POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl' },
    expect: {
      status: 408,
      code: 'request_timeout',
      withinMs: [REQUEST_TIMEOUT_MS - 100, REQUEST_TIMEOUT_MS + 3000],
    },
  },
  {
    name: 'bytes that are not HTTP',
    request: { raw: 'HELLO THERE\r\n\r\n' },
    expect: { status: 400, code: 'invalid_request' },
  },
  {
    name: 'Content-Length and Transfer-Encoding both (request smuggling)',
    request: rawRequest(
      'POST /v1/jobs HTTP/1.1',
      ['Content-Type: application/json', 'Content-Length: 4', 'Transfer-Encoding: chunked'],
      '0\r\n\r\n',
    ),
    expect: { status: 400, code: 'invalid_request' },
  },
  {
    name: 'a Content-Length that is not a number',
    request: rawRequest(
      'POST /v1/jobs HTTP/1.1',
      ['Content-Type: application/json', 'Content-Length: ten'],
      '{}',
    ),
    expect: { status: 400, code: 'invalid_request' },
  },
];

// ---- The API under test -------------------------------------------------------------------------------------

let stack: ApiStack;
let base: string;
let port: number;

beforeAll(async () => {
  // No key store: authentication is off (the default tenant), so these rows test input handling only.
  stack = await startApiStack({
    name: 'api-hostile',
    buckets: [BUCKET],
    env: { API_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) },
  });
  base = stack.base;
  port = Number(new URL(base).port);
});

afterAll(async () => {
  await stack?.stop();
});

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

async function send(request: FetchRequest): Promise<Answer> {
  const body = typeof request.body === 'function' ? request.body() : request.body;
  const init: RequestInit & { duplex?: 'half' } = {
    method: request.method ?? 'POST',
    headers: request.headers,
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  };
  const res = await fetch(`${base}${request.path}`, init);
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

/** Parses one HTTP/1.1 response with a Content-Length off the front of `buf`; undefined while incomplete. */
function parseResponse(buf: Buffer): { answer: Answer; rest: Buffer } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buf.length < end + 4 + length) return undefined;
  const body = buf.subarray(end + 4, end + 4 + length).toString('utf8');
  return {
    answer: { status: Number(statusLine.split(' ')[1]), headers, body },
    rest: buf.subarray(end + 4 + length),
  };
}

/** Writes `raw` to a new socket and reads until the server closes it (10 s at most). */
function sendRaw(raw: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server neither answered nor closed the connection within 10 s'));
    }, 10_000);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined); // a reset after the answer: what was read counts
    socket.on('close', () => {
      clearTimeout(timer);
      const parsed = parseResponse(Buffer.concat(chunks));
      if (parsed) resolve(parsed.answer);
      else
        reject(
          new Error(`no complete response before close: ${JSON.stringify(Buffer.concat(chunks).toString())}`),
        );
    });
    socket.write(raw);
  });
}

async function jobCount(): Promise<number> {
  const counts = await stack.queue.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

// ---- The tests ----------------------------------------------------------------------------------------------

describe('hostile HTTP input: a coded 4xx and nothing else', () => {
  it.each(rows)('$name → $expect.status', async ({ request, expect: want }) => {
    const before = await jobCount();
    const started = Date.now();
    const res = 'raw' in request ? await sendRaw(request.raw) : await send(request);
    const elapsed = Date.now() - started;

    expect(res.status, res.body).toBe(want.status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    // Security headers on every answer, the parser's own refusals included.
    expect(res.headers['content-security-policy']).toBe(CSP);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    if (want.code !== undefined) {
      const body = JSON.parse(res.body) as { error: { code: string; message: string } };
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error.code).toBe(want.code);
      expect(typeof body.error.message).toBe('string');
      if (want.message !== undefined) expect(body.error.message).toContain(want.message);
    }
    if ('raw' in request) expect(res.headers.connection).toBe('close');
    if (want.withinMs) {
      expect(elapsed).toBeGreaterThanOrEqual(want.withinMs[0]);
      expect(elapsed).toBeLessThanOrEqual(want.withinMs[1]);
    }
    // Nothing else happened: no job queued (beyond an accepted boundary case's own), the API still answers.
    expect(await jobCount()).toBe(before + (want.queued ?? 0));
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('queued only the accepted boundary cases', async () => {
    const accepted = rows.reduce((n, r) => n + (r.expect.queued ?? 0), 0);
    expect(await jobCount()).toBe(accepted);
  });
});

describe('security headers', () => {
  it.each([
    ['a normal answer', '/v1/models', 200],
    ['the OpenAPI document', '/docs/json', 200],
    ['a 404', '/v1/nope', 404],
  ])('on %s', async (_name, path, status) => {
    const res = await fetch(`${base}${path}`);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-security-policy')).toBe(CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    // Left to whoever terminates TLS (see services/api/src/http/security.ts).
    expect(res.headers.get('strict-transport-security')).toBeNull();
  });
});

describe('keep-alive', () => {
  it('keeps an idle connection past the request timeout and answers its next request', async () => {
    const socket = connect(port, '127.0.0.1');
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (d) => (buf = Buffer.concat([buf, d])));
    let closed = false;
    socket.on('close', () => (closed = true));
    const next = async (): Promise<Answer> => {
      for (let i = 0; i < 200; i++) {
        const parsed = parseResponse(buf);
        if (parsed) {
          buf = parsed.rest;
          return parsed.answer;
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('no response within 5 s');
    };
    try {
      const get = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
      socket.write(get);
      expect((await next()).status).toBe(200);
      // Idle for longer than the request timeout (and a few connection checks): not a slow request.
      await new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS + 1500));
      expect(closed).toBe(false);
      expect(buf.length).toBe(0);
      socket.write(get + get); // two pipelined requests
      expect((await next()).status).toBe(200);
      expect((await next()).status).toBe(200);
    } finally {
      socket.destroy();
    }
  });
});
