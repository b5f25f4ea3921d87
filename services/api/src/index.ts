export { buildApp } from './app.ts';
export type { ApiDeps, ApiStorage, ReadinessCheck } from './deps.ts';
export { createApiStorage, type ApiObjectStorage } from './storage-s3.ts';
export { configuredModelNames } from './models.ts';
export { startApi, type ApiServer, type StartApiOptions } from './server.ts';
export { createBatchApi } from './batch/wire.ts';
export { BatchEventHub, type BatchEventHubOptions } from './workflow/batch-events.ts';
