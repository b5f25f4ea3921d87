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
  /** The request line (`PUT /bucket/key?x-id=PutObject HTTP/1.1`) of every HTTP request clients sent, in order. */
  readonly requests: readonly string[];
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
  /**
   * A network partition: nothing passes in either direction, on open connections and on new ones (accepted,
   * but connected to the server only at heal()), and nothing is closed, so clients see silence, not an error.
   * What was sent meanwhile is delivered at heal(), as TCP retransmission would once the path is back.
   */
  blackhole(): void;
  /** Ends the partition begun by blackhole() and delivers what was held. */
  heal(): void;
  /**
   * Latency: every byte from the server reaches the client `ms` later (order kept), on open and new
   * connections, until setLatency(0). Bytes already delayed still arrive at their time.
   */
  setLatency(ms: number): void;
  /**
   * An HTTP message reset mid-body, once per call: on the next connection whose client data matches `pattern`,
   * the header block and `afterBodyBytes` bytes of the body pass in `direction` (`response`: the server's answer
   * to the matching request; `request`: the matching request itself, e.g. an upload), then both sides are reset
   * (RST). Resolves when the cut happened.
   */
  cutWhen(pattern: RegExp, cut: { afterBodyBytes: number; direction: 'request' | 'response' }): Promise<void>;
  /** Forwards what was held and stops holding. */
  release(): void;
  close(): Promise<void>;
}

/** Counts an HTTP message's bytes for a cut: the header block passes, then `afterBodyBytes` of the body. */
class BodyCut {
  #inHeaders = true;
  #tail = '';
  #remaining: number;
  #spent = false;
  constructor(
    readonly direction: 'request' | 'response',
    afterBodyBytes: number,
    readonly done: () => void,
  ) {
    this.#remaining = afterBodyBytes;
  }

  /** The part of `chunk` that may pass; `cutNow` once the limit is reached (later chunks pass nothing). */
  take(chunk: Buffer): { pass: Buffer; cutNow: boolean } {
    if (this.#spent) return { pass: Buffer.alloc(0), cutNow: true };
    let bodyStart = 0;
    if (this.#inHeaders) {
      // The blank line may straddle two chunks: search with the previous chunk's last bytes in front.
      const text = this.#tail + chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) {
        this.#tail = text.slice(-3);
        return { pass: chunk, cutNow: false };
      }
      this.#inHeaders = false;
      bodyStart = end + 4 - this.#tail.length;
    }
    const body = chunk.length - bodyStart;
    if (body < this.#remaining) {
      this.#remaining -= body;
      return { pass: chunk, cutNow: false };
    }
    this.#spent = true;
    return { pass: chunk.subarray(0, bodyStart + this.#remaining), cutNow: true };
  }
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let toReset = 0;
  let resets = 0;
  let hold: { pattern: RegExp; matched: () => void } | undefined;
  let answer: { pattern: RegExp; response: string; times: number } | undefined;
  let trickle: { pattern: RegExp; bytes: number; everyMs: number; matched: () => void } | undefined;
  const held: (() => void)[] = [];
  let latencyMs = 0;
  const requests: string[] = [];
  let partitioned = false;
  const partitionHeld = new Set<() => void>();
  const cuts: {
    pattern: RegExp;
    afterBodyBytes: number;
    direction: 'request' | 'response';
    done: () => void;
  }[] = [];

  let isDown = false;
  const server: Server = createServer((client) => {
    if (isDown || toReset > 0) {
      if (!isDown) toReset--;
      resets++;
      client.resetAndDestroy();
      return;
    }
    sockets.add(client);
    let upstream: Socket | undefined;
    let frozen = false;
    let upstreamGone = false;
    let closed = false;
    const queue: Buffer[] = [];
    let slow: { bytes: number; pending: Buffer; timer: NodeJS.Timeout } | undefined;
    let answered = false;
    // Partition: what each side sent while partitioned, delivered at heal().
    const heldUp: Buffer[] = [];
    const heldDown: Buffer[] = [];
    // Latency: the server's bytes with the time they may reach the client, in order.
    const delayed: { due: number; chunk: Buffer }[] = [];
    let pump: NodeJS.Timeout | undefined;
    let cut: BodyCut | undefined;

    const end = (): void => {
      if (closed) return;
      closed = true;
      if (slow !== undefined) clearInterval(slow.timer);
      clearTimeout(pump);
      partitionHeld.delete(flush);
      sockets.delete(client);
      client.destroy();
      upstream?.destroy();
    };
    // Once the last bytes before a cut are flushed: a moment for them to arrive first (an RST sent at once makes
    // the client's kernel drop what it has not read yet, or report a plain close).
    const resetSoon = (): void => void setTimeout(reset, 20);
    const reset = (): void => {
      const done = cut?.done;
      cut = undefined;
      client.resetAndDestroy();
      upstream?.resetAndDestroy();
      end();
      done?.();
    };
    const upstreamEnd = (): void => {
      upstreamGone = true;
      // A trickled, delayed or partitioned answer is delivered in full first (the server may close its idle
      // side long before).
      if (!frozen && slow === undefined && delayed.length === 0 && heldDown.length === 0 && !partitioned)
        end();
    };
    const toClient = (chunk: Buffer): void => {
      if (cut?.direction === 'response') {
        const { pass, cutNow } = cut.take(chunk);
        if (cutNow) {
          client.write(pass, resetSoon);
          return;
        }
      }
      if (slow !== undefined) slow.pending = Buffer.concat([slow.pending, chunk]);
      else client.write(chunk);
    };
    const drainDelayed = (): void => {
      pump = undefined;
      while (delayed.length > 0 && delayed[0]!.due <= Date.now() && !closed) toClient(delayed.shift()!.chunk);
      if (delayed.length > 0) pump = setTimeout(drainDelayed, delayed[0]!.due - Date.now());
      else if (upstreamGone && !frozen && slow === undefined) end();
    };
    const fromServer = (chunk: Buffer): void => {
      if (partitioned) {
        heldDown.push(chunk);
        return;
      }
      if (latencyMs > 0 || delayed.length > 0) {
        delayed.push({ due: Date.now() + latencyMs, chunk });
        pump ??= setTimeout(drainDelayed, delayed[0]!.due - Date.now());
        return;
      }
      toClient(chunk);
    };
    const connectUpstream = (): Socket => {
      const socket = connect(target.port, target.host);
      socket.on('data', fromServer);
      socket.on('close', upstreamEnd);
      socket.on('error', upstreamEnd);
      return socket;
    };
    const fromClient = (chunk: Buffer): void => {
      if (answered || closed) return;
      upstream ??= connectUpstream();
      const text = chunk.toString('latin1');
      const requestLine = /^[A-Z]+ \S+ HTTP\/1\.[01](?=\r\n)/.exec(text);
      if (requestLine !== null) requests.push(requestLine[0]);
      if (answer !== undefined && answer.times > 0 && answer.pattern.test(text)) {
        answered = true;
        answer.times--;
        client.end(answer.response);
        return;
      }
      if (slow === undefined && trickle !== undefined && trickle.pattern.test(text)) {
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
      if (cut === undefined) {
        const i = cuts.findIndex((c) => c.pattern.test(text));
        if (i >= 0) {
          const [c] = cuts.splice(i, 1);
          cut = new BodyCut(c!.direction, c!.afterBodyBytes, c!.done);
        }
      }
      if (cut?.direction === 'request') {
        const { pass, cutNow } = cut.take(chunk);
        if (cutNow) {
          upstream.write(pass, resetSoon);
          return;
        }
      }
      if (!frozen && hold !== undefined && hold.pattern.test(text)) {
        frozen = true;
        const h = hold;
        hold = undefined;
        held.push(() => {
          frozen = false;
          if (upstreamGone) end();
          else for (const c of queue.splice(0)) upstream?.write(c);
        });
        h.matched();
      }
      if (frozen) queue.push(chunk);
      else upstream.write(chunk);
    };
    function flush(): void {
      upstream ??= connectUpstream();
      for (const c of heldUp.splice(0)) fromClient(c);
      for (const c of heldDown.splice(0)) fromServer(c);
      if (upstreamGone) upstreamEnd();
    }
    partitionHeld.add(flush);
    if (!partitioned) upstream = connectUpstream();
    client.on('data', (chunk: Buffer) => {
      if (partitioned) heldUp.push(chunk);
      else fromClient(chunk);
    });
    client.on('close', end);
    client.on('error', end);
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
    blackhole() {
      partitioned = true;
    },
    heal() {
      partitioned = false;
      for (const flush of [...partitionHeld]) flush();
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    cutWhen(pattern, cut) {
      return new Promise((resolve) => {
        cuts.push({ pattern, ...cut, done: resolve });
      });
    },
    get resets() {
      return resets;
    },
    requests,
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
