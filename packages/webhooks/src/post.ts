import { request as httpRequest, type Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';

/** Largest response body read from a receiver, bytes; the rest is not read (the connection is dropped). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** What one POST to a receiver gave. */
export interface PostOutcome {
  /** True for a 2xx. */
  ok: boolean;
  statusCode?: number;
  latencyMs: number;
  /** Why it is not a success (timeout, connection refused, SSRF block, a non-2xx, a redirect). */
  error?: string;
}

export interface PostOptions {
  agent: Agent;
  /** The whole exchange (connect, send, response headers and body) must end within this. */
  timeoutMs: number;
  /** Default {@link MAX_RESPONSE_BYTES}. */
  maxResponseBytes?: number;
}

/**
 * POSTs a JSON body once: never follows redirects (a 3xx is a failure), stops after `timeoutMs`, and reads at
 * most `maxResponseBytes` of the answer, so a hanging, redirecting or flooding receiver never holds a worker.
 * Never rejects.
 */
export function postJson(
  url: URL,
  body: string,
  headers: Record<string, string>,
  options: PostOptions,
): Promise<PostOutcome> {
  const t0 = performance.now();
  const cap = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  const latency = (): number => Math.round((performance.now() - t0) * 10) / 10;
  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<PostOutcome, 'latencyMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...outcome, latencyMs: latency() });
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: 'POST',
      agent: options.agent,
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'labelq-webhooks/1',
      },
    });
    const timer = setTimeout(() => {
      finish({ ok: false, error: `no complete answer within ${options.timeoutMs} ms` });
      req.destroy();
    }, options.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish({ ok: false, error: err.code !== undefined ? `${err.code}: ${err.message}` : err.message });
    });
    req.on('response', (res) => {
      const statusCode = res.statusCode ?? 0;
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > cap) {
          // The status is known; the rest of a huge body is not worth reading (nor keeping the socket for).
          res.destroy();
          done();
        }
      });
      res.on('error', () => done());
      res.on('end', () => done());
      const done = (): void => {
        if (statusCode >= 200 && statusCode < 300) finish({ ok: true, statusCode });
        else if (statusCode >= 300 && statusCode < 400) {
          finish({
            ok: false,
            statusCode,
            error: `redirects are not followed (${statusCode} to ${res.headers.location ?? 'nowhere'})`,
          });
        } else finish({ ok: false, statusCode, error: `the receiver answered ${statusCode}` });
      };
    });
    req.end(body);
  });
}
