// pnpm serve [--port N] [--json] [--data-dir DIR]
//
// What `pnpm demo` starts, kept running for a person (or a script, or a browser test) to try the API: Redis
// (REDIS_URL or 127.0.0.1:6379 if it answers, else a private redis-server), the embedded S3 (s3rver, data under
// .data/s3), the API and one worker process. Prints how to reach them when ready (with --json exactly one JSON
// line on stdout; everything else goes to stderr) and runs until Ctrl-C or SIGTERM: a graceful stop, exit 0;
// a second signal exits at once.
//
// The caller's configuration variables (every name in packages/config's envSchema) reach both services, except
// the embedded services' own: REDIS_URL, the S3 endpoint, region, credentials, bucket and checksum mode.
// Unlike the demo it uses the configured queue (QUEUE_NAME, default `labelq`), S3 prefixes and REDIS_KEY_PREFIX
// and keeps them at exit: a local server is restarted and should still answer for the images it classified
// before (their results stay in .data/s3, and in Redis if that is not a private one).
// Each start creates an API key for the `default` tenant with every scope (shown in the ready message and as
// `apiKey` in the JSON line) and revokes it at a graceful stop (a server killed without one leaves its key:
// `pnpm labelq keys list --tenant default` names it "pnpm serve", `keys revoke ID` ends it). Lasting keys, e.g.
// for a client that must survive restarts, come from `pnpm labelq keys create`.
// Exit codes: 0 stopped by a signal; 1 a service died; 2 usage or setup error (bad arguments or configuration,
// the port in use, models missing).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { envSchema, loadConfig, type Config } from '@labelq/config';
import { toLabelqError } from '@labelq/errors';
import { ModelsMissingError, startStack, type Stack } from './demo/stack.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = `usage: pnpm serve [--port N] [--json] [--data-dir DIR]

Starts Redis (or uses the one at REDIS_URL / 127.0.0.1:6379), an embedded S3, the labelq API and a worker, and
keeps them running until Ctrl-C.
  --port N        API port (default: API_PORT, else 8080; 0 picks a free port). The API listens on API_HOST,
                  default 127.0.0.1 (this machine only).
  --json          print one JSON line when ready (apiUrl, apiKey, workerUrl, redisUrl, s3: endpoint, region, bucket,
  --json          print one JSON line when ready (apiUrl, apiKey, redisUrl, databaseUrl, s3: endpoint, region, bucket,
                  accessKeyId, secretAccessKey) instead of the instructions; logs still go to stderr (run it as
                  \`pnpm -s serve --json\`: without -s pnpm prints its own banner on stdout first)
  --data-dir DIR  where the embedded S3 keeps its data (DIR/s3; default .data)
Every labelq configuration variable (README) reaches both services (e.g. LOG_LEVEL=debug; default info),
except the embedded Redis and S3 settings. Each start makes an API key (tenant default, every scope), valid
until it stops: requests send it as \`Authorization: Bearer <key>\`.`;

function fail(message: string, code = 2): never {
  process.stderr.write(`serve: ${message}\n`);
  process.exit(code);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The AWS SDK's notice about future Node versions is noise here; other warnings still print. */
function quietSdkNodeVersionWarning(): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => {
    if (!`${w.name} ${w.message}`.includes('NodeVersionSupportWarning'))
      process.stderr.write(`${w.name}: ${w.message}\n`);
  });
}

interface Args {
  json: boolean;
  /** From --port; undefined: API_PORT or 8080. */
  port: number | undefined;
  dataDir: string;
}

function parseArguments(): Args {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string' },
        json: { type: 'boolean' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    fail(`${errorMessage(err)}\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  let port: number | undefined;
  if (values.port !== undefined) {
    port = /^\d{1,5}$/.test(values.port) ? Number(values.port) : NaN;
    if (!(port >= 0 && port <= 65535))
      fail(`--port must be a port number from 0 to 65535, not "${values.port}"`);
  }
  return { json: values.json ?? false, port, dataDir: resolve(values['data-dir'] ?? join(root, '.data')) };
}

/**
 * The caller's labelq configuration: every envSchema variable set in this environment, with the API's port and
 * host settled and relative paths made absolute (the worker runs in the repository root, not the caller's cwd).
 */
function serviceEnv(args: Args): Record<string, string> {
  const env: Record<string, string> = { LOG_LEVEL: 'info', API_HOST: '127.0.0.1', API_PORT: '8080' };
  for (const name of Object.keys(envSchema.shape)) {
    const value = process.env[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  if (args.port !== undefined) env.API_PORT = String(args.port);
  for (const name of ['MODELS_DIR', 'MODERATION_POLICY_FILE'] as const)
    if (env[name] !== undefined) env[name] = resolve(env[name]);
  return env;
}

function readyText(stack: Stack): string {
  const { apiUrl, config } = stack;
  const s3 = config.s3;
  const creds = s3.credentials!;
  const auth = `-H "Authorization: Bearer ${stack.apiKey}"`;
  return `labelq is running; Ctrl-C stops it.

  API        ${apiUrl}   (OpenAPI: ${apiUrl}/docs/json)
  worker     ${stack.workerUrl}   (/healthz, /readyz, /metrics)
  API key    ${stack.apiKey}
             tenant default, every scope; revoked when this stops${config.access.disabled ? ' (AUTH_DISABLED=true: not checked)' : ''}
  models     ${stack.models.join(', ')}
  queue      ${config.queue.name} on ${stack.redis.url}${stack.redis.started ? ' (a private redis-server)' : ''}
  index      ${stack.postgres.databaseUrl}${stack.postgres.started ? ' (a private Postgres in .data/postgres)' : ''}
  S3         endpoint ${s3.endpoint}, region ${s3.region}, bucket ${s3.bucket}, path-style addressing
             access key ${creds.accessKeyId}, secret key ${creds.secretAccessKey}; data in ${stack.s3Dir}

Try:
  curl ${auth} \\
    -F file=@photo.jpg ${apiUrl}/v1/images
  curl ${auth} \\
    ${apiUrl}/v1/images/<id from the answer>
  AWS_ACCESS_KEY_ID=${creds.accessKeyId} AWS_SECRET_ACCESS_KEY=${creds.secretAccessKey} \\
    aws --endpoint-url ${s3.endpoint} s3 ls s3://${s3.bucket}/${config.s3.resultsPrefix}
`;
}

function readyJson(stack: Stack): string {
  const s3 = stack.config.s3;
  return JSON.stringify({
    apiUrl: stack.apiUrl,
    apiKey: stack.apiKey,
    workerUrl: stack.workerUrl,
    redisUrl: stack.redis.url,
    databaseUrl: stack.postgres.databaseUrl,
    s3: {
      endpoint: s3.endpoint,
      region: s3.region,
      bucket: s3.bucket,
      accessKeyId: s3.credentials?.accessKeyId,
      secretAccessKey: s3.credentials?.secretAccessKey,
    },
  });
}

async function main(): Promise<void> {
  quietSdkNodeVersionWarning();
  const args = parseArguments();
  const env = serviceEnv(args);
  // The caller's configuration is checked before anything starts (the embedded settings only replace values).
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    fail(toLabelqError(err).message);
  }
  // The in-process API logs through this; the worker child builds its own logger from the same LOG_LEVEL.
  const logger = pino(
    { level: config.logLevel, base: { service: 'api', pid: process.pid } },
    pino.destination(2),
  );

  // A signal during the start is honoured once the stack is up (or has failed); a second one exits at once
  // (the worker child is killed on exit, a private redis-server dies with this process).
  let stack: Stack | undefined;
  let stopRequested = false;
  let stopping: Promise<void> | undefined;
  const shutdown = (code: number): void => {
    if (stack === undefined) return;
    stopping ??= stack.stop().then(
      () => process.exit(code),
      (err: unknown) => fail(`shutdown failed: ${errorMessage(err)}`, 1),
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopRequested) {
      process.stderr.write(`serve: ${signal} again, exiting without waiting\n`);
      process.exit(130);
    }
    stopRequested = true;
    process.stderr.write(`serve: ${signal}, shutting down (again to exit at once)\n`);
    shutdown(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    stack = await startStack(
      {
        root,
        ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
        s3Dir: join(args.dataDir, 's3'),
        bucket: 'labelq',
        persistent: true,
        keyName: 'pnpm serve',
        env,
        workerLogFile: null,
        workerOutput: process.stderr,
      },
      logger,
    );
  } catch (err) {
    if (err instanceof ModelsMissingError) fail(err.message);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      fail(
        `port ${env.API_PORT} on ${env.API_HOST} is in use: choose another with --port N (or --port 0 for a free one)`,
      );
    // The worker's output is already on stderr: not again from the error's copy of it.
    const message = errorMessage(err);
    fail(`could not start: ${message.startsWith('the worker ') ? message.split('\n')[0] : message}`);
  }

  void stack.worker.exited.then((code) => {
    if (stopping !== undefined) return;
    process.stderr.write(`serve: the worker exited unexpectedly (${code}); stopping everything\n`);
    shutdown(1);
  });
  if (stopRequested) return shutdown(0);

  process.stdout.write(args.json ? `${readyJson(stack)}\n` : readyText(stack));
}

main().catch((err: unknown) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err), 1));
