import type { Redis } from 'ioredis';

/** Redis's own counters at one moment: server CPU seconds and commands executed (in total and by command). */
export interface RedisSnapshot {
  /** used_cpu_user + used_cpu_sys of the server, seconds. */
  cpu: number;
  /** Commands executed, the INFO calls of the benchmark itself left out. Includes the commands Lua scripts run. */
  calls: number;
  byCommand: Record<string, number>;
}

/** INFO cpu and INFO commandstats, read through `redis`. */
export async function redisSnapshot(redis: Redis): Promise<RedisSnapshot> {
  const cpu = await redis.info('cpu');
  const num = (k: string) => Number(new RegExp(`^${k}:([0-9.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  const stats = await redis.info('commandstats');
  const byCommand: Record<string, number> = {};
  let calls = 0;
  for (const m of stats.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+)/gm)) {
    // Our own INFO calls are not labelq's traffic.
    if (m[1] === 'info') continue;
    byCommand[m[1]!] = Number(m[2]);
    calls += Number(m[2]);
  }
  return { cpu: num('used_cpu_user') + num('used_cpu_sys'), calls, byCommand };
}

/** Commands per job between two snapshots, by command, most first (scripts count once as `evalsha`, their insides apart). */
export function commandsPerJob(a: RedisSnapshot, b: RedisSnapshot, jobs: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(b.byCommand)
      .map(([cmd, n]) => [cmd, +((n - (a.byCommand[cmd] ?? 0)) / jobs).toFixed(2)] as const)
      .filter(([, n]) => n > 0)
      .sort((x, y) => y[1] - x[1]),
  );
}
