// The API process: configuration and logger from the environment, then startApi; SIGTERM/SIGINT drain it.
import { pino } from 'pino';
import { loadConfig } from '@labelq/config';
import { toLabelqError } from '@labelq/errors';
import { startApi } from './server.ts';

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    // A bad environment variable: a clean message naming it and exit 2, as the worker does (no stack trace).
    process.stderr.write(`labelq api: ${toLabelqError(err).message}\n`);
    process.exit(2);
  }
})();
const logger = pino({ level: config.logLevel, base: { service: 'api' } });

try {
  const server = await startApi(config, logger);
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'api shutting down');
    // A backstop: each step of the stop is bounded, but a stop that still hangs must not keep a process that no
    // longer serves from being replaced. At least the sum of those steps' bounds (~10 s): SHUTDOWN_TIMEOUT_MS=0
    // means "abandon in-flight jobs" to a worker, not "skip closing".
    const timeoutMs = Math.max(config.worker.shutdownTimeoutMs, 10_000);
    setTimeout(() => {
      logger.error({ timeoutMs }, 'api shutdown timed out');
      process.exit(1);
    }, timeoutMs).unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'api shutdown failed');
        process.exit(1);
      },
    );
  };
  // `on`, not `once`: a second signal (Ctrl-C reaches the whole process group, and `pnpm start` also forwards
  // one) must not fall back to the default handler and kill the process mid-drain.
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
} catch (err) {
  const e = toLabelqError(err);
  logger.fatal({ code: e.code, err }, `api failed to start: ${e.code}: ${e.message}`);
  process.exit(1);
}
