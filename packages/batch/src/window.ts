/** The counters the window is computed from (see BatchState). */
export interface WindowCounts {
  queued: number;
  completed: number;
  /** Every failed item. */
  failed: number;
  /** Failed manifest lines: failed, never queued. */
  failedListing: number;
}

/** Jobs of a batch queued and not yet finished (waiting, delayed for a retry, or running). */
export function inFlight(c: WindowCounts): number {
  return Math.max(0, c.queued - c.completed - (c.failed - c.failedListing));
}

/**
 * How many more jobs a batch may queue now: the window minus what is in flight. Each batch refills only its own
 * window, so with W jobs each in a FIFO of equal priority two batches hold equal shares of the waiting jobs
 * and progress at equal rates, whatever their sizes: no batch starves another.
 */
export function windowSpace(c: WindowCounts, window: number): number {
  return Math.max(0, window - inFlight(c));
}
