// A TCP proxy that holds each chunk from client to server for `delayMs` before passing it on: every request's
// first byte (so its response) arrives that much later, as from an S3 endpoint across a network (AWS S3 in the
// same region answers a small GET in ~10 to 50 ms; s3rver on localhost in ~1 ms). Responses pass at once. For
// `pnpm bench --s3-latency-ms N`: a design that overlaps downloads with inference should keep its throughput, one
// that waits for each download should not.
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';

export interface LatencyProxy {
  /** `http://127.0.0.1:<port>`: the target's endpoint through the proxy. */
  endpoint: string;
  close(): Promise<void>;
}

export async function startLatencyProxy(target: string, delayMs: number): Promise<LatencyProxy> {
  const url = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(url.port), url.hostname);
    sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // Timers of equal delay fire in order, so the byte stream keeps its order.
    client.on('data', (chunk: Buffer) => setTimeout(() => upstream.write(chunk), delayMs));
    client.on('end', () => setTimeout(() => upstream.end(), delayMs));
    upstream.pipe(client);
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => setTimeout(drop, delayMs));
    upstream.on('close', drop);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
