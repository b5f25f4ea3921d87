import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** One thing `/readyz` checks. */
export interface WorkerReadinessCheck {
  /** Shown in the body, e.g. `redis`, `s3`, `pool`, `draining`. */
  name: string;
  /** Resolves when healthy; rejects with the reason otherwise. */
  check(): Promise<void>;
}

export interface WorkerHttpOptions {
  /** Listen address. */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  registry: Registry;
  /** The checks `/readyz` runs now (a function: they change once the runtime has started). */
  checks(): readonly WorkerReadinessCheck[];
  /** Longest one readiness check may take, ms. Default 2000 (below a Kubernetes probe's usual timeout). */
  checkTimeoutMs?: number;
  logger: Logger;
}

export interface WorkerHttp {
  /** `http://host:port` it listens on (the real port when 0 was asked). */
  url: string;
  close(): Promise<void>;
}

async function runCheck(
  c: WorkerReadinessCheck,
  timeoutMs: number,
): Promise<readonly [string, { ok: boolean; error?: string }]> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return [c.name, { ok: true }] as const;
  } catch (err) {
    return [c.name, { ok: false, error: err instanceof Error ? err.message : String(err) }] as const;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The worker's small HTTP endpoint, on node:http (three routes do not need a framework): `GET /healthz` (the
 * process answers: liveness), `GET /readyz` (every check passes: 200, else 503 naming the failed ones, the
 * same body shape as the API's), `GET /metrics` (Prometheus text format). Anything else is 404.
 */
export async function startWorkerHttp(o: WorkerHttpOptions): Promise<WorkerHttp> {
  const timeoutMs = o.checkTimeoutMs ?? 2000;
  const json = (status: number, body: unknown): [number, string, string] => [
    status,
    'application/json; charset=utf-8',
    JSON.stringify(body),
  ];
  const handle = async (method: string, path: string): Promise<[number, string, string]> => {
    if (method !== 'GET' && method !== 'HEAD') return json(405, { code: 'method_not_allowed' });
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      const results = await Promise.all(o.checks().map((c) => runCheck(c, timeoutMs)));
      const ready = results.every(([, r]) => r.ok);
      if (!ready) o.logger.warn({ checks: Object.fromEntries(results) }, 'worker not ready');
      return json(ready ? 200 : 503, {
        status: ready ? 'ready' : 'unavailable',
        checks: Object.fromEntries(results),
      });
    }
    if (path === '/metrics') return [200, o.registry.contentType, await o.registry.metrics()];
    return json(404, { code: 'not_found', message: `No route ${path}` });
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    handle(req.method ?? 'GET', path).then(
      ([status, type, body]) => {
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        o.logger.error({ err }, 'worker http handler failed');
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'internal' }));
      },
    );
  });
  // Probes and scrapes are short: do not let a stuck client hold a socket.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}
