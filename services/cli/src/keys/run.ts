// `labelq keys ...`: API keys straight in Redis, through the same KeyStore the API uses. This is how the first
// key of an installation is made (the API refuses to start in production without one), and how an operator
// lists or revokes keys without holding an admin key.
import { KeyStore } from '@labelq/access';
import { loadConfig, type Config } from '@labelq/config';
import { LabelqError, toLabelqError } from '@labelq/errors';
import { Redis } from 'ioredis';
import { KEYS_USAGE, parseKeysCommand, type KeysCommand } from './args.ts';
import { createdText, keysTable, revokedText } from './format.ts';

/** A connect, or one command, that takes longer than this fails the CLI rather than leaving it waiting. */
const CONNECT_TIMEOUT_MS = 3000;
/** Everything (connect and commands) within this, or exit 1: a server that accepts but never answers. */
const DEADLINE_MS = 10_000;

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * A client that makes one connection attempt (`connect`), never reconnects and queues nothing while offline:
 * an unreachable Redis fails at once instead of being retried forever.
 */
function client(url: string): { redis: Redis; connect: () => Promise<void> } {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    // Commands time out (commandTimeout); a silent server held the ready check's INFO until DEADLINE_MS.
    enableReadyCheck: false,
  });
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => (lastError = err));
  return {
    redis,
    connect: () =>
      redis.connect().catch((err: unknown) => {
        const reason = (lastError ?? (err as Error)).message;
        throw new LabelqError('queue_unavailable', `Redis at ${redactUrl(url)} is unreachable: ${reason}`, {
          cause: err,
        });
      }),
  };
}

async function execute(
  command: Exclude<KeysCommand, { kind: 'help' }>,
  store: KeyStore,
  out: (text: string) => void,
): Promise<void> {
  switch (command.kind) {
    case 'create': {
      const created = await store.create(command.request);
      out(command.json ? `${JSON.stringify(created)}\n` : createdText(created));
      return;
    }
    case 'list': {
      const keys = await store.list(command.tenant);
      // The body GET /v1/keys answers: `{keys: [...]}`.
      if (command.json) out(`${JSON.stringify({ keys })}\n`);
      else if (keys.length === 0)
        out(`No API keys${command.tenant !== undefined ? ` for tenant ${command.tenant}` : ''}.\n`);
      else out(keysTable(keys));
      return;
    }
    case 'revoke': {
      const started = new Date();
      const info = await store.revoke(command.id);
      const already = info.revokedAt !== undefined && Date.parse(info.revokedAt) < started.getTime();
      out(command.json ? `${JSON.stringify(info)}\n` : revokedText(info, already));
      return;
    }
  }
}

async function withDeadline<T>(op: Promise<T>, ms: number, url: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new LabelqError(
            'queue_unavailable',
            `Redis at ${redactUrl(url)} did not answer within ${ms / 1000}s`,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([op, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `labelq keys <argv>`; resolves with the exit code (0 done, 1 Redis or no such key, 2 usage or config). */
export async function runKeys(argv: readonly string[]): Promise<number> {
  let command: KeysCommand;
  let config: Config;
  try {
    command = parseKeysCommand(argv);
    if (command.kind === 'help') {
      process.stdout.write(`${KEYS_USAGE}\n`);
      return 0;
    }
    config = loadConfig();
  } catch (err) {
    const e = toLabelqError(err);
    process.stderr.write(
      e.details?.usage === true
        ? `labelq: ${e.message}\n\n${KEYS_USAGE}\n`
        : `labelq: ${e.code}: ${e.message}\n`,
    );
    return 2;
  }

  const { redis, connect } = client(config.redis.url);
  // Output is written only once the command has succeeded (one JSON document, or nothing, on stdout).
  let output = '';
  try {
    await withDeadline(
      (async () => {
        await connect();
        await execute(command, new KeyStore(redis, { prefix: config.redis.keyPrefix }), (t) => (output += t));
      })(),
      DEADLINE_MS,
      config.redis.url,
    );
  } catch (err) {
    // A LabelqError is coded already (not_found, queue_unavailable); anything else came out of ioredis.
    const message =
      err instanceof LabelqError
        ? `${err.code}: ${err.message}`
        : `queue_unavailable: Redis at ${redactUrl(config.redis.url)} failed: ${(err as Error).message}`;
    process.stderr.write(`labelq: ${message}\n`);
    return 1;
  } finally {
    // Not after a failed connect: ioredis's disconnect() of an ended client keeps the process alive ~2 s.
    if (redis.status !== 'end') redis.disconnect();
  }
  process.stdout.write(output);
  return 0;
}
