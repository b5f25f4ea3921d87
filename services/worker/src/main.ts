// The worker process: the only wiring file. Config from the environment, start checks, then jobs until
// SIGTERM/SIGINT (graceful: in-flight jobs finish within SHUTDOWN_TIMEOUT_MS), exit 0.
import { loadConfig } from '@labelq/config';
import { toLabelqError } from '@labelq/errors';
import { pino } from 'pino';
import { startWorkerHttp, type WorkerHttp } from './http.ts';
import { createWorkerMetrics } from './metrics.ts';
import { createWorkerRuntime, type WorkerRuntime } from './runtime.ts';

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    process.stderr.write(`labelq worker: ${toLabelqError(err).message}\n`);
    process.exit(2);
  }
})();
const logger = pino({ level: config.logLevel, base: { service: 'worker', pid: process.pid } });

// The HTTP endpoint comes up before the start checks (model loading takes seconds): /healthz answers at once,
// /readyz says `starting` until the runtime exists, then the runtime's own checks.
const metrics = createWorkerMetrics();
let runtime: WorkerRuntime | undefined;
let http: WorkerHttp;
try {
  http = await startWorkerHttp({
    host: config.worker.http.host,
    port: config.worker.http.port,
    registry: metrics.registry,
    logger,
    checks: () =>
      runtime?.readiness ?? [
        { name: 'started', check: () => Promise.reject(new Error('start checks running')) },
      ],
  });
  logger.info({ url: http.url }, 'worker http listening');
} catch (err) {
  logger.fatal({ err }, `worker http endpoint could not listen on port ${config.worker.http.port}`);
  process.exit(1);
}

try {
  runtime = await createWorkerRuntime(config, { logger, metrics });
} catch (err) {
  const e = toLabelqError(err);
  logger.fatal({ code: e.code, err }, `worker refused to start: ${e.code}: ${e.message}`);
  process.exit(1);
}

const rt = runtime;
let signals = 0;
const shutdown = (signal: NodeJS.Signals): void => {
  signals++;
  if (signals > 1) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  logger.info({ signal }, 'shutting down: finishing in-flight jobs');
  rt.close().then(
    async (drained) => {
      await http.close();
      logger.info({ drained }, 'worker stopped');
      process.exit(0);
    },
    (err: unknown) => {
      logger.error({ err }, 'error during shutdown');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
