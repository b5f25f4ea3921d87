// A test's S3 I/O thread (storage.integration.test.ts): the real one, except that a request for the key
// `crash-the-thread` ends the thread at once, as a native crash or an out-of-memory kill would.
import process from 'node:process';
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
// After the real thread's listener: the port delivers messages from the first listener on, and a listener added
// later would miss the requests sent while the thread was loading.
await import('./worker.ts');
parentPort.on('message', (msg) => {
  if (msg.type === 'call' && msg.args[1] === 'crash-the-thread') process.exit(3);
});
