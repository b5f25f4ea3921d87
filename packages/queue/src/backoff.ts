/** Name of labelq's custom BullMQ backoff strategy (jobs use `backoff: { type: BACKOFF_TYPE, delay }`). */
export const BACKOFF_TYPE = 'labelq-jitter';
/** Longest wait between two attempts, ms. */
export const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * Exponential backoff with jitter: base * 2^(attempt-1), then a random point in [50%, 100%] of it, so many
 * workers retrying after one outage do not hit S3 or Redis in lockstep. `attemptsMade` counts from 1.
 */
export function backoffDelay(
  attemptsMade: number,
  baseMs: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exp * (0.5 + random() * 0.5));
}
