// BullMQ's sandbox imports this plain-JS file; it registers tsx in the sandbox thread (a worker thread does not
// run --import hooks from execArgv on Node 20) and loads the TypeScript processor.
import { register } from 'tsx/esm/api';

register();
const { default: processClassifyJob } = await import('./sandboxed-processor.ts');
export default processClassifyJob;
