export interface AcquireOptions {
  /** Queue ahead of every non-urgent waiter (FIFO among urgent ones). Default false. */
  urgent?: boolean;
}

/**
 * An async semaphore counted in bytes. The worker caps image bytes downloaded but not yet classified with one
 * (job concurrency can exceed the pool size, downloads overlapping inference, without unbounded memory); the
 * pool caps estimated decode memory with another. FIFO, so a big image is not starved by a stream of small ones,
 * except that urgent (moderation) requests queue ahead of every non-urgent one: a moderation image must not wait
 * behind the tagging backlog for bytes any more than for a job slot or a thread (docs/moderation.md). Urgent
 * traffic is the small part, so the tagging images it passes wait a little, not forever. A request larger than
 * the whole budget is clamped to it (it then runs alone instead of waiting forever).
 */
export class ByteBudget {
  private available: number;
  private readonly waiters: { bytes: number; urgent: boolean; resolve: () => void }[] = [];

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
  async acquire(bytes: number, options: AcquireOptions = {}): Promise<() => void> {
    const now = this.tryAcquire(bytes, options);
    if (now !== undefined) return now;
    const n = this.clamp(bytes);
    const urgent = options.urgent === true;
    await new Promise<void>((resolve) => {
      const waiter = { bytes: n, urgent, resolve };
      // Urgent: behind the urgent waiters, ahead of the first non-urgent one.
      const at = urgent ? this.waiters.findIndex((w) => !w.urgent) : -1;
      if (at === -1) this.waiters.push(waiter);
      else this.waiters.splice(at, 0, waiter);
    });
    return this.releaser(n);
  }

  /**
   * Reserves `bytes` only if that needs no waiting (free bytes and nobody queued ahead of it, so the order
   * holds: for an urgent request, no urgent one) and returns the release function; undefined otherwise, with
   * nothing reserved.
   */
  tryAcquire(bytes: number, options: AcquireOptions = {}): (() => void) | undefined {
    const n = this.clamp(bytes);
    const ahead = options.urgent === true ? this.waiters.some((w) => w.urgent) : this.waiters.length > 0;
    if (ahead || n > this.available) return undefined;
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
