// Optional V8 CPU profile of a child's main thread, limited to the measured phase (warm-up and model loading
// would otherwise dominate it). PhaseMeter starts and stops it; child.ts waits for the file before exiting.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

let target: string | undefined;
let session: Session | undefined;
let written: Promise<void> = Promise.resolve();

/** Makes the next measured phase write its main-thread profile to `file`. */
export function profilePhaseTo(file: string): void {
  target = file;
}

function post(s: Session, method: string): Promise<unknown> {
  return new Promise((resolve, reject) =>
    s.post(method, (err, result) => (err ? reject(err) : resolve(result))),
  );
}

/** Called when the measured phase starts; no-op unless {@link profilePhaseTo} was called. */
export function startPhaseProfile(): void {
  if (target === undefined || session !== undefined) return;
  session = new Session();
  session.connect();
  const s = session;
  written = post(s, 'Profiler.enable')
    .then(() => post(s, 'Profiler.start'))
    .then(() => undefined);
}

/** Called when the measured phase ends: stops the profiler and writes the file. */
export function stopPhaseProfile(): void {
  const s = session;
  const file = target;
  if (s === undefined || file === undefined) return;
  session = undefined;
  target = undefined;
  written = written
    .then(() => post(s, 'Profiler.stop'))
    .then((result) => {
      writeFileSync(file, JSON.stringify((result as { profile: unknown }).profile));
      s.disconnect();
    });
}

/** Resolves once the profile (if any) is on disk; rejects with the profiler's error. */
export function profileWritten(): Promise<void> {
  return written;
}
