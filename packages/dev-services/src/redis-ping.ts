import { Redis } from 'ioredis';

/**
 * True when a Redis server answers PING at `url` within `timeoutMs` (default 1000). Never throws and never
 * retries: it is a probe.
 */
export async function pingRedis(url: string, timeoutMs = 1000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // A refused connection is an expected answer here, not an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
