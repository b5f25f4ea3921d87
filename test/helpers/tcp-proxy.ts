import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy for fault injection in front of a real server (s3rver): reset connections, or freeze a
 * connection when a request matching a pattern passes through (to catch a worker mid-job).
 */
export interface TcpProxy {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Destroys the open connections and resets the next `n` new ones (RST) before any byte is read. */
  resetNext(n: number): void;
  /** Connections reset so far. */
  readonly resets: number;
  /**
   * Freezes the first connection whose outgoing data matches `pattern`: that data and everything after it is
   * held (not forwarded) until release(); meanwhile the client sees a hung server, even if the server closes
   * its side (e.g. s3rver's 5 s keep-alive timeout on a reused connection). Resolves when a match happened.
   */
  holdWhen(pattern: RegExp): Promise<void>;
  /**
   * Slows down the first connection whose outgoing data matches `pattern`: the server's answer to it reaches the
   * client `bytes` bytes every `everyMs` ms (a trickling body that never goes idle). Resolves on the match.
   */
  trickleWhen(pattern: RegExp, rate: { bytes: number; everyMs: number }): Promise<void>;
  /**
   * Answers the next `times` requests matching `pattern` itself with the raw HTTP `response` (the server never
   * sees them) and closes those connections: an S3 error for one operation.
   */
  answerWhen(pattern: RegExp, response: string, times?: number): void;
  /**
   * An outage: destroys the open connections and resets every new one until up() (the endpoint looks down to
   * clients: connection reset on connect).
   */
  down(): void;
  /** Ends the outage begun by down(). */
  up(): void;
  /** Forwards what was held and stops holding. */
  release(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let toReset = 0;
  let resets = 0;
  let hold: { pattern: RegExp; matched: () => void } | undefined;
  let answer: { pattern: RegExp; response: string; times: number } | undefined;
  let trickle: { pattern: RegExp; bytes: number; everyMs: number; matched: () => void } | undefined;
  const held: (() => void)[] = [];

  let isDown = false;
  const server: Server = createServer((client) => {
    if (isDown || toReset > 0) {
      if (!isDown) toReset--;
      resets++;
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    let frozen = false;
    let upstreamGone = false;
    const queue: Buffer[] = [];
    let slow: { bytes: number; pending: Buffer; timer: NodeJS.Timeout } | undefined;
    let answered = false;
    client.on('data', (chunk: Buffer) => {
      if (answered) return;
      if (answer !== undefined && answer.times > 0 && answer.pattern.test(chunk.toString('latin1'))) {
        answered = true;
        answer.times--;
        client.end(answer.response);
        return;
      }
      if (slow === undefined && trickle !== undefined && trickle.pattern.test(chunk.toString('latin1'))) {
        const t = trickle;
        trickle = undefined;
        const state = {
          bytes: t.bytes,
          pending: Buffer.alloc(0),
          timer: setInterval(() => {
            const next = state.pending.subarray(0, state.bytes);
            state.pending = state.pending.subarray(next.length);
            if (next.length > 0) client.write(next);
            else if (upstreamGone) end();
          }, t.everyMs),
        };
        slow = state;
        t.matched();
      }
      if (!frozen && hold !== undefined && hold.pattern.test(chunk.toString('latin1'))) {
        frozen = true;
        const h = hold;
        hold = undefined;
        held.push(() => {
          frozen = false;
          if (upstreamGone) end();
          else for (const c of queue.splice(0)) upstream.write(c);
        });
        h.matched();
      }
      if (frozen) queue.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (slow !== undefined) slow.pending = Buffer.concat([slow.pending, chunk]);
      else client.write(chunk);
    });
    const end = (): void => {
      if (slow !== undefined) clearInterval(slow.timer);
      sockets.delete(client);
      client.destroy();
      upstream.destroy();
    };
    const upstreamEnd = (): void => {
      upstreamGone = true;
      // A trickled answer is delivered in full first (the server may close its idle side long before).
      if (!frozen && slow === undefined) end();
    };
    client.on('close', end);
    upstream.on('close', upstreamEnd);
    client.on('error', end);
    upstream.on('error', upstreamEnd);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    resetNext(n) {
      toReset += n;
      for (const s of sockets) s.destroy();
    },
    down() {
      isDown = true;
      for (const s of sockets) s.destroy();
    },
    up() {
      isDown = false;
    },
    get resets() {
      return resets;
    },
    holdWhen(pattern) {
      return new Promise((resolve) => {
        hold = { pattern, matched: resolve };
      });
    },
    answerWhen(pattern, response, times = 1) {
      answer = { pattern, response, times };
    },
    trickleWhen(pattern, rate) {
      return new Promise((resolve) => {
        trickle = { pattern, ...rate, matched: resolve };
      });
    },
    release() {
      for (const r of held.splice(0)) r();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A raw S3 error response (XML body, connection closed) for {@link TcpProxy.answerWhen}. */
export function s3ErrorResponse(status: number, code: string): string {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${code}</Message></Error>`;
  return (
    `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Connection: close\r\n\r\n${body}`
  );
}
