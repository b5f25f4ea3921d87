import { batchChangeSchema, type Batch, type BatchChange } from '@labelq/contracts';
import { createWorkerConnection } from '@labelq/queue';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Reads a batch as `GET /v1/batches/:id` answers it; undefined when it is gone. */
export type BatchReader = (id: string) => Promise<Batch | undefined>;

export type BatchListener = (batch: Batch, change: BatchChange) => void;

export interface BatchEventHubOptions {
  /** Channel a batch's store announces its changes on (`batchKeys(prefix, id).changes`). */
  channel: (id: string) => string;
  read: BatchReader;
  /** At most one progress read per batch per this many ms (status changes are read at once). Default 1000. */
  progressIntervalMs?: number;
  /**
   * A watched batch is also read this often, whatever was announced: a safety net for changes nothing announced
   * (a producer of an older version during a rolling deploy). Default 15000.
   */
  reconcileMs?: number;
}

/** One watched batch: its subscribers, and the one timer and read they share. */
interface Watch {
  listeners: Set<BatchListener>;
  /** When the last read started (ms), for the progress throttle. */
  lastReadAt: number;
  /** A read is running; `again` says another change arrived meanwhile. */
  reading: boolean;
  again: BatchChange | undefined;
  timer: NodeJS.Timeout | undefined;
  reconcile: NodeJS.Timeout;
  /** Settles when the channel's SUBSCRIBE has: every watcher waits for it, not only the first. */
  ready: Promise<void>;
}

/**
 * Live batch changes for the API's event streams, one per process. The batch store announces every change on
 * the batch's pub/sub channel; the hub subscribes to a batch's channel while at least one stream watches it and
 * reads the batch once per change for all of them: a status change at once, progress at most once per
 * `progressIntervalMs` (trailing: the last change of a burst is always read). A batch nobody watches costs
 * nothing here, and a watched batch that does not move costs one read per `reconcileMs`.
 */
export class BatchEventHub {
  readonly #url: string;
  readonly #opts: Required<BatchEventHubOptions>;
  readonly #logger: Logger;
  readonly #watches = new Map<string, Watch>();
  /** Channel -> batch id of the watched batches. */
  readonly #byChannel = new Map<string, string>();
  #subscriber: Redis | undefined;
  #closed = false;

  constructor(url: string, logger: Logger, opts: BatchEventHubOptions) {
    this.#url = url;
    this.#logger = logger;
    this.#opts = { progressIntervalMs: 1000, reconcileMs: 15_000, ...opts };
  }

  /** Opened on the first watch: an API nobody streams batches from keeps no subscriber connection. */
  #connection(): Redis {
    if (this.#subscriber !== undefined) return this.#subscriber;
    const sub = createWorkerConnection(this.#url);
    sub.on('error', (err) => this.#logger.debug({ err: err.message }, 'batch events redis error'));
    sub.on('message', (channel: string, message: string) => {
      const id = this.#byChannel.get(channel);
      if (id === undefined) return;
      const parsed = batchChangeSchema.safeParse(message);
      this.#changed(id, parsed.success ? parsed.data : 'progress');
    });
    // ioredis subscribes again after a reconnect; whatever was announced while it was away is read now.
    let connectedBefore = false;
    sub.on('ready', () => {
      if (connectedBefore) for (const id of this.#watches.keys()) this.#changed(id, 'status');
      connectedBefore = true;
    });
    this.#subscriber = sub;
    return sub;
  }

  /**
   * Calls `fn` with the batch after each change until the returned function is called. Resolves once the
   * subscription is in place, so a read the caller makes afterwards misses nothing.
   */
  async watch(id: string, fn: BatchListener): Promise<() => void> {
    if (this.#closed) throw new Error('batch event hub closed');
    let w = this.#watches.get(id);
    if (w === undefined) {
      const channel = this.#opts.channel(id);
      const reconcile = setInterval(() => this.#changed(id, 'progress'), this.#opts.reconcileMs);
      reconcile.unref();
      w = {
        listeners: new Set(),
        lastReadAt: 0,
        reading: false,
        again: undefined,
        timer: undefined,
        reconcile,
        ready: this.#connection()
          .subscribe(channel)
          .then(() => undefined),
      };
      this.#watches.set(id, w);
      this.#byChannel.set(channel, id);
    }
    const watch = w;
    watch.listeners.add(fn);
    const unwatch = (): void => {
      watch.listeners.delete(fn);
      if (watch.listeners.size === 0 && this.#watches.get(id) === watch) this.#drop(id);
    };
    try {
      await watch.ready;
    } catch (err) {
      // Each watcher of a failed subscription takes only its own listener away; the last one drops the entry.
      unwatch();
      throw err;
    }
    return unwatch;
  }

  #drop(id: string): void {
    const w = this.#watches.get(id);
    if (w === undefined) return;
    clearTimeout(w.timer);
    clearInterval(w.reconcile);
    this.#watches.delete(id);
    const channel = this.#opts.channel(id);
    this.#byChannel.delete(channel);
    this.#subscriber?.unsubscribe(channel).catch(() => undefined);
  }

  /** Batches watched right now (tests and metrics). */
  get watched(): number {
    return this.#watches.size;
  }

  #changed(id: string, change: BatchChange): void {
    const w = this.#watches.get(id);
    if (w === undefined) return;
    if (w.reading) {
      // Read again when this read ends; a status change wins over progress.
      w.again = w.again === 'status' || change === 'status' ? 'status' : 'progress';
      return;
    }
    if (change === 'status') {
      clearTimeout(w.timer);
      w.timer = undefined;
      void this.#read(id, w, 'status');
      return;
    }
    if (w.timer !== undefined) return; // a progress read is already due
    const wait = w.lastReadAt + this.#opts.progressIntervalMs - Date.now();
    if (wait <= 0) {
      void this.#read(id, w, 'progress');
      return;
    }
    w.timer = setTimeout(() => {
      w.timer = undefined;
      void this.#read(id, w, 'progress');
    }, wait);
  }

  async #read(id: string, w: Watch, change: BatchChange): Promise<void> {
    w.reading = true;
    w.lastReadAt = Date.now();
    try {
      const batch = await this.#opts.read(id);
      if (batch !== undefined && this.#watches.get(id) === w) {
        for (const fn of [...w.listeners]) fn(batch, change);
      }
    } catch (err) {
      // The next change (or the reconcile timer) reads again.
      this.#logger.debug({ err: (err as Error).message, batchId: id }, 'batch events read failed');
    } finally {
      w.reading = false;
      const again = w.again;
      w.again = undefined;
      if (again !== undefined) this.#changed(id, again);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const id of [...this.#watches.keys()]) this.#drop(id);
    const sub = this.#subscriber;
    this.#subscriber = undefined;
    if (sub !== undefined) await sub.quit().catch(() => sub.disconnect());
  }
}
