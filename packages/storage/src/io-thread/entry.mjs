// The S3 I/O thread's entry in source mode (io-threads.ts: `new URL('./io-thread/entry.mjs', import.meta.url)`).
// As the inference pool's thread entry (packages/inference/src/thread/entry.mjs): the thread is TypeScript, so
// this plain-JS file registers tsx inside the thread first. A build (scripts/build.ts) bundles ./worker.ts into
// `<service>/dist/io-thread/entry.mjs` instead, and nothing imports tsx.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
