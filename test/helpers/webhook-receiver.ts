import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One request the receiver got. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The answer it gave. */
  status: number;
  at: number;
}

/** How the receiver answers on a path: a status, or a function of the how-many-th request on it (1-based). */
export type Behaviour = number | ((n: number) => number | 'hang' | 'huge' | 'redirect');

/**
 * A real HTTP receiver for webhook tests on 127.0.0.1 (a free port): records every request and answers per
 * path (default 200).
 */
export class WebhookReceiver {
  readonly received: Received[] = [];
  readonly #behaviour = new Map<string, Behaviour>();
  readonly #counts = new Map<string, number>();
  #server: Server | undefined;
  #port = 0;

  get port(): number {
    return this.#port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.#port}${path}`;
  }

  on(path: string, behaviour: Behaviour): void {
    this.#behaviour.set(path, behaviour);
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const n = (this.#counts.get(path) ?? 0) + 1;
        this.#counts.set(path, n);
        const b = this.#behaviour.get(path) ?? 200;
        const answer = typeof b === 'number' ? b : b(n);
        const status = typeof answer === 'number' ? answer : answer === 'redirect' ? 302 : 200;
        this.received.push({
          path,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
          status,
          at: Date.now(),
        });
        if (answer === 'hang') return; // never answers: the sender's timeout must end it
        if (answer === 'redirect') {
          res.writeHead(302, { location: '/elsewhere' }).end();
          return;
        }
        if (answer === 'huge') {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          const chunk = Buffer.alloc(64 * 1024, 120);
          let sent = 0;
          const pump = (): void => {
            while (sent < 512 && res.write(chunk)) sent++;
            if (sent < 512 && !res.destroyed) res.once('drain', pump);
            else res.end();
          };
          res.on('error', () => undefined);
          pump();
          return;
        }
        res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  /** Requests on `path` whose signature verifies with `secret`, parsed; throws on any that does not verify. */
  verified(path: string, secret: string): { id: string; type: string; data: Record<string, unknown> }[] {
    const wh = new Webhook(secret);
    return this.received
      .filter((r) => r.path === path)
      .map((r) => {
        const payload = wh.verify(r.body, r.headers as Record<string, string>) as {
          type: string;
          data: Record<string, unknown>;
        };
        return { id: String(r.headers['webhook-id']), type: payload.type, data: payload.data };
      });
  }

  /** Resolves when `predicate` holds (checked on every request and every 50 ms), else rejects after `ms`. */
  async until(predicate: () => boolean, ms = 30_000, what = 'webhook requests'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}; got ${JSON.stringify(this.received.map((r) => [r.path, r.status]))}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
