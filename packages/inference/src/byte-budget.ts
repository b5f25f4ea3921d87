/**
 * An async semaphore counted in bytes. The worker caps image bytes downloaded but not yet classified with one
 * (job concurrency can exceed the pool size, downloads overlapping inference, without unbounded memory); the
 * pool caps estimated decode memory with another. FIFO, so a big image is
 * not starved by a stream of small ones. A request larger than the whole budget is clamped to it (it then
 * runs alone instead of waiting forever).
 */
export class ByteBudget {
  private available: number;
  private readonly waiters: { bytes: number; resolve: () => void }[] = [];

  /** @param capacity Total bytes (e.g. config.worker.maxBytesInFlight). */
  constructor(readonly capacity: number) {
    this.available = capacity;
  }

  /** Bytes currently reserved. */
  get inUse(): number {
    return this.capacity - this.available;
  }

  /** Requests waiting for bytes. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Waits until `bytes` are free, reserves them and returns the release function (idempotent). */
  async acquire(bytes: number): Promise<() => void> {
    const now = this.tryAcquire(bytes);
    if (now !== undefined) return now;
    const n = this.clamp(bytes);
    await new Promise<void>((resolve) => this.waiters.push({ bytes: n, resolve }));
    return this.releaser(n);
  }

  /**
   * Reserves `bytes` only if that needs no waiting (free bytes and nobody queued, so FIFO order holds) and
   * returns the release function; undefined otherwise, with nothing reserved.
   */
  tryAcquire(bytes: number): (() => void) | undefined {
    const n = this.clamp(bytes);
    if (this.waiters.length > 0 || n > this.available) return undefined;
    this.available -= n;
    return this.releaser(n);
  }

  private clamp(bytes: number): number {
    return Math.min(Math.max(0, bytes), this.capacity);
  }

  private releaser(n: number): () => void {
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
