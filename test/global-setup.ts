// Once per `vitest run`: the tests' Redis. Uses REDIS_URL or 127.0.0.1:6379 when one answers, else starts a
// private redis-server on a free port (a fresh machine has the binary from set-up but may not run the service),
// and exports its URL as REDIS_URL for every test file. Tests that kill or restart Redis start their own.
import { resolveRedis } from '@labelq/dev-services';

export default async function setup(): Promise<() => Promise<void>> {
  const redis = await resolveRedis(process.env.REDIS_URL);
  process.env.REDIS_URL = redis.url;
  if (redis.started) console.log(`tests: started a private redis-server at ${redis.url}`);
  return () => redis.stop();
}
