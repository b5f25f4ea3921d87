/**
 * The pool's two groups of threads. `bulk` threads (POOL_THREADS) run any image; `urgent` threads run only
 * urgent ones (moderation: a client waits for the decision), so a moderation image finds a free thread even while
 * every bulk thread is busy with a tagging image.
 */
export type ThreadGroup = 'urgent' | 'bulk';

/** A waiting task handed to a free thread of `group`. */
export interface Assignment<T> {
  item: T;
  group: ThreadGroup;
}

/**
 * Decides which waiting task runs on which free thread; the pool runs what it returns and calls `release` when a
 * thread finishes. Two FIFO lanes: urgent tasks go before every waiting task that is not urgent. Urgent threads
 * take urgent tasks only, and an urgent task takes a free urgent thread before a free bulk one (bulk threads run
 * at a lower OS priority). Bulk threads take urgent tasks first too, so a burst of moderation images uses every
 * thread, as it did before urgent threads existed. Tasks wait here rather than in Piscina's queue because a
 * Piscina pool cannot keep one of its threads for some tasks: each group is its own pool, and a task goes to a
 * group only when one of its threads is free.
 */
export class ThreadLanes<T> {
  readonly #free: Record<ThreadGroup, number>;
  readonly #urgent: T[] = [];
  readonly #normal: T[] = [];
  readonly #maxQueue: number;

  /**
   * `threads`: size of each group; `maxQueue`: tasks of each lane that may wait for a thread (beyond it `push`
   * refuses). Per lane, so tagging tasks filling the queue never refuse an urgent one (at most 2 x maxQueue wait).
   */
  constructor(threads: Record<ThreadGroup, number>, maxQueue: number) {
    this.#free = { ...threads };
    this.#maxQueue = maxQueue;
  }

  /** Tasks waiting for a thread. */
  get waiting(): number {
    return this.#urgent.length + this.#normal.length;
  }

  /**
   * Queues `item` and returns what can start now (possibly `item` itself); undefined, and nothing queued, when
   * `item` would have to wait and `maxQueue` tasks of its lane already do.
   */
  push(item: T, urgent: boolean): Assignment<T>[] | undefined {
    const startsNow = this.#free.bulk > 0 || (urgent && this.#free.urgent > 0);
    const lane = urgent ? this.#urgent : this.#normal;
    if (!startsNow && lane.length >= this.#maxQueue) return undefined;
    lane.push(item);
    return this.#assign();
  }

  /** A thread of `group` finished its task: returns what can start now. */
  release(group: ThreadGroup): Assignment<T>[] {
    this.#free[group]++;
    return this.#assign();
  }

  /** Empties the lanes (a forced close): the tasks that were waiting, which will never run. */
  clear(): T[] {
    return [...this.#urgent.splice(0), ...this.#normal.splice(0)];
  }

  #assign(): Assignment<T>[] {
    const out: Assignment<T>[] = [];
    while (this.#free.urgent > 0 && this.#urgent.length > 0) {
      this.#free.urgent--;
      out.push({ item: this.#urgent.shift()!, group: 'urgent' });
    }
    while (this.#free.bulk > 0 && this.waiting > 0) {
      this.#free.bulk--;
      out.push({ item: (this.#urgent.length > 0 ? this.#urgent : this.#normal).shift()!, group: 'bulk' });
    }
    return out;
  }
}
