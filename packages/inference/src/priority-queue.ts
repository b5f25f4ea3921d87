import { queueOptionsSymbol, type PiscinaTask, type TaskQueue } from 'piscina';

/** What a task tells the queue (Piscina's `queueOptionsSymbol` property; never sent to the thread). */
export interface QueueOptions {
  /** Runs before every waiting task that is not urgent (moderation: someone waits for the answer). */
  urgent?: boolean;
}

/** Marks `task` urgent for {@link PriorityTaskQueue} (structured clone drops symbol keys: the thread never sees it). */
export function withQueueOptions<T extends object>(task: T, options: QueueOptions): T {
  return Object.assign(task, { [queueOptionsSymbol]: options });
}

/**
 * Piscina's task queue in two FIFO lanes: urgent tasks are taken before any other waiting task, so a moderation
 * image never waits behind the tagging images already queued inside the pool (only behind those already on a
 * thread). Within a lane, first in, first out. BullMQ priorities order jobs before they reach a worker; this
 * orders them inside it, where a worker with several jobs in flight queues them for its threads.
 */
export class PriorityTaskQueue implements TaskQueue {
  readonly #urgent: PiscinaTask[] = [];
  readonly #normal: PiscinaTask[] = [];

  get size(): number {
    return this.#urgent.length + this.#normal.length;
  }

  #lane(task: PiscinaTask): PiscinaTask[] {
    const options = task[queueOptionsSymbol] as QueueOptions | null;
    return options?.urgent === true ? this.#urgent : this.#normal;
  }

  push(task: PiscinaTask): void {
    this.#lane(task).push(task);
  }

  /** Piscina puts a task it could not hand out back at the head of its lane. */
  unshift(task: PiscinaTask): void {
    this.#lane(task).unshift(task);
  }

  shift(): PiscinaTask | null {
    return this.#urgent.shift() ?? this.#normal.shift() ?? null;
  }

  remove(task: PiscinaTask): void {
    const lane = this.#lane(task);
    const i = lane.indexOf(task);
    if (i >= 0) lane.splice(i, 1);
  }
}
