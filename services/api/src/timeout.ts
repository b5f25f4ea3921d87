import { LabelqError, toLabelqError, type ErrorCode } from '@labelq/errors';
import { clientRedisMessage } from './redis-errors.ts';

/**
 * Runs `op` with a deadline; a timeout or an uncoded failure becomes `code` (e.g. `queue_unavailable`), so a
 * stuck dependency answers 503 instead of hanging the request. Coded LabelqErrors pass through.
 */
export async function withDeadline<T>(
  op: () => Promise<T>,
  ms: number,
  code: ErrorCode,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    // The rejection waits for the check phase of the loop (setImmediate), after the poll phase has read the
    // sockets: on a saturated event loop the timer and the dependency's answer become due in the same turn, and
    // timers run first; an answer that did arrive in time must win over the deadline, not a false 503.
    timer = setTimeout(
      () => setImmediate(() => reject(new LabelqError(code, `${what} did not answer within ${ms} ms`))),
      ms,
    );
  });
  try {
    return await Promise.race([op(), deadline]);
  } catch (err) {
    if (err instanceof LabelqError) throw err;
    const e = toLabelqError(err);
    if (e.code !== 'internal') throw e;
    throw new LabelqError(code, `${what} failed: ${clientRedisMessage(e.message)}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
