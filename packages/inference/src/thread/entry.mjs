// Piscina's worker filename. The worker is TypeScript and labelq has no build step, so this plain-JS entry
// registers the tsx loader inside the thread before importing it. (Passing `--import tsx` in the Worker's
// execArgv does not work on Node 20: a worker thread does not run --import hooks given that way, and under
// vitest process.execArgv has no tsx at all.) tsx resolves from the repo root's node_modules.
import { register } from 'tsx/esm/api';

register();
const { default: handle } = await import('./worker.ts');
export default handle;
