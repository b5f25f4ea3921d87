export { buildApp, DEFAULT_DEPENDENCY_TIMEOUT_MS } from './app.ts';
export type { ApiDeps, ApiStorage, ReadinessCheck } from './deps.ts';
export { createApiStorage, type ApiObjectStorage } from './storage-s3.ts';
export { configuredModels, configuredModelNames } from './models.ts';
export { startApi, type ApiServer, type StartApiOptions } from './server.ts';
