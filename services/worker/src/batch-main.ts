// A dedicated batch-role process: lists and queues batches without loading any model (a deployment can run a
// few of these beside the inference workers; every worker runs the role too unless BATCH_RUNNERS=0). Model
// sha256s come from the manifests in MODELS_DIR, the files workers verify at start. SIGTERM/SIGINT: running
// batches are handed on (a new run is queued) and the process exits 0.
import { BatchStore, createBatchRole } from '@labelq/batch';
import { loadConfig } from '@labelq/config';
import { toLabelqError } from '@labelq/errors';
import { loadModerationPolicy } from '@labelq/moderation';
import { readManifest } from '@labelq/models';
import { closeQueueClients, createClassifyQueue, createWorkerConnection } from '@labelq/queue';
import { createObjectStore } from '@labelq/storage';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    process.stderr.write(`labelq batch role: ${toLabelqError(err).message}\n`);
    process.exit(2);
  }
})();
const logger = pino({ level: config.logLevel, base: { service: 'batch-role', pid: process.pid } });

const files = (await readdir(config.models.dir)).filter((f) => f.endsWith('.json')).sort();
const manifests = await Promise.all(files.map((f) => readManifest(join(config.models.dir, f))));
const models = manifests
  .filter((m) => config.models.names === undefined || config.models.names.includes(m.name))
  .map((m) => ({ name: m.name, version: m.version, sha256: m.sha256 }));
const policy = await loadModerationPolicy(config.moderation.policyFile);
const connection = createWorkerConnection(config.redis.url);
const s3 = createObjectStore(config.s3);
const classifyQueue = createClassifyQueue(config, connection);
const role = createBatchRole(
  {
    config,
    store: new BatchStore(connection, config.redis.keyPrefix),
    s3,
    classifyQueue,
    models,
    policyVersion: () => policy.version,
    logger,
  },
  connection,
);
await role.worker.waitUntilReady();
logger.info({ models: models.map((m) => m.name), runners: config.batch.runners }, 'batch role started');

const shutdown = (signal: NodeJS.Signals): void => {
  logger.info({ signal }, 'batch role stopping');
  void (async () => {
    await role.close();
    await closeQueueClients([classifyQueue], [connection]);
    s3.destroy();
    process.exit(0);
  })();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
