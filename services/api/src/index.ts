export { buildApp, DEFAULT_DEPENDENCY_TIMEOUT_MS } from './app.ts';
export type { ApiDeps, ApiStorage, ReadinessCheck } from './deps.ts';
export type { ImageStatus, ImageStatusBody, ImageTimings } from './status.ts';
export { sniffFormat, type ImageFormat } from './upload/magic.ts';
export type { ErrorBody } from './http/errors.ts';
export { createApiRedis } from './redis.ts';
export { createApiStorage, type ApiObjectStorage } from './storage-s3.ts';
export { configuredModelNames } from './models.ts';
export { startApi, type ApiServer, type StartApiOptions } from './server.ts';
