import { z } from 'zod';
import { batchSchema, type Batch, type BatchStatus } from './batch.ts';

/**
 * Live batch events (`GET /v1/batches/:id/events`, Server-Sent Events). Every event carries the whole batch as
 * `GET /v1/batches/:id` answers it, so a client never merges deltas and a missed event costs nothing: the next
 * one holds everything. Version 1.
 */

/**
 * SSE event names: `status` for the first event of a connection and whenever the status changes (the last one
 * of a stream has an end status), `progress` when only the counts moved (at most one a second).
 */
export const BATCH_EVENT_TYPES = ['status', 'progress'] as const;
export const batchEventTypeSchema = z.enum(BATCH_EVENT_TYPES);
export type BatchEventType = z.infer<typeof batchEventTypeSchema>;

/** One batch event as a client parses it: the SSE `id`, `event` and the JSON `data`. */
export const batchEventSchema = z.object({
  id: z.string(),
  event: batchEventTypeSchema,
  data: batchSchema,
});
export type BatchEvent = z.infer<typeof batchEventSchema>;

/** Statuses that end a batch's event stream (a later retry-failed starts a new stream's worth of events). */
export const BATCH_END_STATUSES: readonly BatchStatus[] = ['completed', 'cancelled', 'failed'];

export function isBatchEndStatus(status: BatchStatus): boolean {
  return BATCH_END_STATUSES.includes(status);
}

/**
 * A batch event's id: the state it reports (status and every count), e.g. `running.300.0.300.120.2`. Two
 * events with the same id report the same status and counts, so a client resuming with `Last-Event-ID` is not
 * sent the state it already has, and one whose state moved on gets the current one at once. Only rate and ETA,
 * which change with the clock, are left out.
 */
export function batchEventId(b: Batch): string {
  const c = b.counts;
  return [b.status, c.discovered, c.skipped, c.queued, c.completed, c.failed].join('.');
}

/**
 * What a batch store change announces on the batch's Redis pub/sub channel (producers: the batch store in any
 * process; consumer: the API's event streams). Readers treat an unknown message as `progress`.
 */
export const batchChangeSchema = z.enum(['status', 'progress']);
export type BatchChange = z.infer<typeof batchChangeSchema>;
