// Piscina's worker filename in source mode (pool.ts: `new URL('./thread/entry.mjs', import.meta.url)`). The worker
// is TypeScript, so this plain-JS entry registers the tsx loader inside the thread before importing it. (Passing
// `--import tsx` in the Worker's execArgv does not work on Node 20: a worker thread does not run --import hooks
// given that way, and under vitest process.execArgv has no tsx at all.) tsx is a devDependency: tests, the demo
// and the bench run from source.
//
// Compiled mode (`pnpm build`, what production runs) never loads this file: scripts/build.ts bundles
// ./worker.ts into `<service>/dist/thread/entry.mjs`, next to the bundle that holds pool.ts, so the same URL
// finds the compiled thread there and nothing imports tsx.
import { register } from 'tsx/esm/api';

register();
const { default: handle } = await import('./worker.ts');
export default handle;
