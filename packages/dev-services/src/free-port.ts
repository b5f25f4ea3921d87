import { createServer } from 'node:net';

/**
 * A TCP port that was free a moment ago on `host` (default `127.0.0.1`). Another process may take it before
 * you bind it: callers that spawn servers retry on bind failure.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('Could not find a free port'))));
    });
  });
}
