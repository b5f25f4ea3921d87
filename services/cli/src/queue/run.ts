// `labelq queue depth|pause|resume|retry|clean|drain`: the API's /v1/queue routes straight against Redis (same
// REDIS_URL, QUEUE_NAME and QUEUE_PREFIX as the services), so an operator can act while the API is down.
import { parseArgs } from 'node:util';
import { OpenJobs } from '@labelq/access';
import { loadConfig } from '@labelq/config';
import { cleanRequestSchema, retryFailedRequestSchema } from '@labelq/contracts';
import { toLabelqError } from '@labelq/errors';
import { createClassifyQueue, QueueAdmin, queueDepth } from '@labelq/queue';
import { Redis } from 'ioredis';

export const QUEUE_USAGE = `usage: labelq queue <command> [--json]
  depth                              waiting + prioritized + delayed + active, overall and per purpose
  pause                              every worker stops taking new jobs (running ones finish)
  resume                             undo pause
  retry [--code CODE] [--limit N]    failed jobs back to the queue: all, or those failed with CODE
  clean --state completed|failed --older-than SECONDS [--limit N]
                                     remove finished jobs from Redis (result documents stay in S3)
  drain [--delayed]                  remove every waiting job (and delayed ones); running jobs finish`;

function usage(message: string): number {
  process.stderr.write(`labelq queue: ${message}\n\n${QUEUE_USAGE}\n`);
  return 2;
}

export async function runQueue(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        json: { type: 'boolean' },
        code: { type: 'string' },
        limit: { type: 'string' },
        state: { type: 'string' },
        'older-than': { type: 'string' },
        delayed: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help === true || command === undefined) {
    process.stdout.write(`${QUEUE_USAGE}\n`);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`labelq: ${toLabelqError(err).message}\n`);
    return 2;
  }
  // Fail fast on an unreachable Redis rather than retrying forever.
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  const queue = createClassifyQueue(config, redis);
  queue.on('error', () => undefined);
  const openJobs = new OpenJobs(redis, config.redis.keyPrefix);
  const admin = new QueueAdmin(queue, {
    release: async (tenant, ids) => {
      for (const id of ids) await openJobs.release(tenant, id);
    },
  });
  try {
    let result: unknown;
    switch (command) {
      case 'depth':
        result = await queueDepth(queue);
        break;
      case 'pause':
        result = await admin.pause();
        break;
      case 'resume':
        result = await admin.resume();
        break;
      case 'retry': {
        const req = retryFailedRequestSchema.safeParse({ code: values.code, limit: num(values.limit) });
        if (!req.success)
          return usage(req.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
        result = await admin.retryFailed(req.data);
        break;
      }
      case 'clean': {
        const req = cleanRequestSchema.safeParse({
          state: values.state,
          olderThanSeconds: num(values['older-than']),
          limit: num(values.limit),
        });
        if (!req.success)
          return usage(req.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; '));
        result = await admin.clean(req.data);
        break;
      }
      case 'drain':
        result = await admin.drain({ delayed: values.delayed === true });
        break;
      default:
        return usage(`unknown command "${command}"`);
    }
    process.stdout.write(values.json === true ? `${JSON.stringify(result)}\n` : `${describe(result)}\n`);
    return 0;
  } catch (err) {
    const e = toLabelqError(err);
    process.stderr.write(`labelq queue ${command}: ${e.code}: ${e.message}\n`);
    return 1;
  } finally {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  }
}

/** One human line (or a few) per answer. */
function describe(result: unknown): string {
  const r = result as Record<string, unknown>;
  if (typeof r.operation === 'string') {
    return `${r.operation}: ${String(r.count)} job(s); queue ${r.paused === true ? 'paused' : 'running'}`;
  }
  const d = result as {
    depth: number;
    paused: boolean;
    states: Record<string, number>;
    byPurpose: Record<
      string,
      { depth: number; waiting: number; delayed: number; active: number; oldestWaitingAgeSeconds: number }
    >;
  };
  const lines = [
    `depth ${d.depth}${d.paused ? ' (paused)' : ''}: ${Object.entries(d.states)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    ...Object.entries(d.byPurpose).map(
      ([p, v]) =>
        `  ${p}: ${v.depth} (waiting ${v.waiting}, delayed ${v.delayed}, active ${v.active}; oldest waiting ${Math.round(v.oldestWaitingAgeSeconds)} s)`,
    ),
  ];
  return lines.join('\n');
}
