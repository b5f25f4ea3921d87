// The API process: configuration and logger from the environment, then startApi; SIGTERM/SIGINT drain it.
import { pino } from 'pino';
import { loadConfig } from '@labelq/config';
import { startApi } from './server.ts';

const config = loadConfig();
const logger = pino({ level: config.logLevel, base: { service: 'api' } });

try {
  const server = await startApi(config, logger);
  let closing = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'api shutting down');
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
  logger.fatal({ err }, 'api failed to start');
  process.exit(1);
}
