import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { LabelqError, toLabelqError, type ErrorCode } from '@labelq/errors';
import { clientRedisMessage } from './redis-errors.ts';

/**
 * The longest a deadline of `ms` waits in wall time, as a multiple of `ms`, when this process's own busy event
 * loop (not the dependency) kept the answer from being read: the dependency's `ms`, and at most as much again
 * spent on our own backlog before the request is shed with `server_busy`.
 */
export const SATURATED_WAIT_FACTOR = 2;

/**
 * ioredis's `commandTimeout` for a connection whose commands run under {@link withDeadline}s of `ms`: a backstop
 * for callers without a deadline, past the longest a deadline waits, so that the deadline (which tells our own
 * saturation from the dependency's silence) always decides first. ioredis's timer rejects in the timers phase,
 * before the poll phase reads an answer already in the socket: at the same value as the deadline it turned
 * every loop blocked past 1 s into a false 503 `queue_unavailable`.
 */
export function commandTimeoutFor(ms: number): number {
  return (SATURATED_WAIT_FACTOR + 1) * ms;
}

/** ioredis's rejection when its `commandTimeout` passes. */
const COMMAND_TIMED_OUT = 'Command timed out';

/**
 * One wait on a dependency, measured in the time the event loop sat idle. An idle loop is one with nothing to
 * read: while a command is outstanding, every idle millisecond is one in which the dependency's answer had not
 * arrived. Time the loop spent busy (hashing and copying upload bodies, other requests) is ours: an answer
 * that arrived then waits in the socket until the loop reads it, and must not be blamed on the dependency.
 */
class DependencyWait {
  readonly #startedAt = performance.now();
  readonly #startElu: EventLoopUtilization = performance.eventLoopUtilization();

  constructor(
    readonly ms: number,
    readonly code: ErrorCode,
    readonly what: string,
  ) {}

  /** The error to answer now, or how much longer to wait (the dependency has not had `ms` of our idle time). */
  verdict(): LabelqError | number {
    const idle = performance.eventLoopUtilization(this.#startElu).idle;
    const elapsed = performance.now() - this.#startedAt;
    if (idle >= this.ms) {
      return new LabelqError(this.code, `${this.what} did not answer within ${this.ms} ms`);
    }
    const cap = SATURATED_WAIT_FACTOR * this.ms;
    if (elapsed >= cap) return this.saturated(elapsed, idle);
    return Math.max(1, Math.min(this.ms - idle, cap - elapsed));
  }

  /** The same judgement where no more waiting is possible (the dependency's client gave up on its own). */
  final(): LabelqError {
    const verdict = this.verdict();
    if (verdict instanceof LabelqError) return verdict;
    const elapsed = performance.now() - this.#startedAt;
    return this.saturated(elapsed, performance.eventLoopUtilization(this.#startElu).idle);
  }

  private saturated(elapsed: number, idle: number): LabelqError {
    return new LabelqError(
      'server_busy',
      `The API was too busy to read ${this.what}'s answer in time (its event loop was idle ` +
        `${Math.round(idle)} of ${Math.round(elapsed)} ms): retry shortly`,
      { details: { retryAfterSeconds: 1 } },
    );
  }
}

/**
 * Runs `op` with a deadline; a timeout or an uncoded failure becomes `code` (e.g. `queue_unavailable`), so a
 * stuck dependency answers 503 instead of hanging the request. Coded LabelqErrors pass through.
 *
 * The deadline is `ms` of the dependency's time, not of ours: it counts the time the event loop sat idle while
 * waiting (see {@link DependencyWait}). On a loop saturated by our own work (a flood of uploads) an answer read
 * late is not an outage: the wait goes on, up to {@link SATURATED_WAIT_FACTOR} x `ms`, and then answers the API's
 * own 503 `server_busy` (Retry-After), never `code`, which claims the dependency is down.
 */
export async function withDeadline<T>(
  op: () => Promise<T>,
  ms: number,
  code: ErrorCode,
  what: string,
): Promise<T> {
  const wait = new DependencyWait(ms, code, what);
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  const deadline = new Promise<never>((_, reject) => {
    const arm = (delay: number): void => {
      // The verdict waits for the check phase of the loop (setImmediate), after the poll phase has read the
      // sockets: on a saturated loop the timer and the dependency's answer become due in the same turn, and
      // timers run first; an answer that did arrive in time must win over the deadline.
      timer = setTimeout(
        () =>
          setImmediate(() => {
            if (settled) return;
            const verdict = wait.verdict();
            if (verdict instanceof LabelqError) reject(verdict);
            else arm(verdict);
          }),
        delay,
      );
    };
    arm(ms);
  });
  try {
    return await Promise.race([op(), deadline]);
  } catch (err) {
    if (err instanceof LabelqError) throw err;
    // The dependency's own client gave up waiting (ioredis commandTimeout): the same judgement as the deadline.
    if (err instanceof Error && err.message === COMMAND_TIMED_OUT) throw wait.final();
    const e = toLabelqError(err);
    if (e.code !== 'internal') throw e;
    throw new LabelqError(code, `${what} failed: ${clientRedisMessage(e.message)}`, { cause: err });
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}
