/**
 * An async semaphore counted in bytes: caps image bytes downloaded but not yet classified, so job concurrency
 * can exceed the pool size (downloads overlap inference) without unbounded memory. FIFO, so a big image is
 * not starved by a stream of small ones. A request larger than the whole budget is clamped to it (it then
 * runs alone instead of waiting forever).
 */
export class ByteBudget {
  private available: number;
  private readonly waiters: { bytes: number; resolve: () => void }[] = [];

  /** @param capacity Total bytes; config.worker.maxBytesInFlight. */
  constructor(readonly capacity: number) {
    this.available = capacity;
  }

  /** Bytes currently reserved. */
  get inUse(): number {
    return this.capacity - this.available;
  }

  /** Waits until `bytes` are free, reserves them and returns the release function (idempotent). */
  async acquire(bytes: number): Promise<() => void> {
    const n = Math.min(Math.max(0, bytes), this.capacity);
    if (this.waiters.length === 0 && n <= this.available) {
      this.available -= n;
    } else {
      await new Promise<void>((resolve) => this.waiters.push({ bytes: n, resolve }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.available += n;
      this.drain();
    };
  }

  private drain(): void {
    while (this.waiters.length > 0 && this.waiters[0]!.bytes <= this.available) {
      const next = this.waiters.shift()!;
      this.available -= next.bytes;
      next.resolve();
    }
  }
}
