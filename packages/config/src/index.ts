export { loadConfig, type Config } from './config.ts';
export { envSchema, type Env } from './schema.ts';
