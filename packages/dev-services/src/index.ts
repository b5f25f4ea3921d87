export { freePort } from './free-port.ts';
export { pingRedis } from './redis-ping.ts';
export {
  startRedisServer,
  resolveRedis,
  type StartRedisOptions,
  type RedisServerHandle,
  type ResolvedRedis,
} from './redis-server.ts';
export {
  startS3rver,
  s3ClientFor,
  S3RVER_CREDENTIALS,
  s3rverEnv,
  type StartS3rverOptions,
  type S3rverHandle,
} from './s3rver.ts';
export { serviceProcessEnv } from './process-env.ts';
export {
  startPostgres,
  resolvePostgres,
  pingPostgres,
  postgresBinDir,
  ensureDatabase,
  dropDatabase,
  removePostgresData,
  LOCAL_POSTGRES_URL,
  type StartPostgresOptions,
  type PostgresHandle,
  type ResolvedPostgres,
} from './postgres.ts';
