import {
  batchEventId,
  isBatchEndStatus,
  isBatchId,
  type Batch,
  type BatchEventType,
  type BatchStatus,
} from '@labelq/contracts';
import { LabelqError } from '@labelq/errors';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { BatchApiDeps } from '../batch/deps.ts';
import { errorResponses, eventStreamResponse } from '../http/response-schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { withDeadline } from '../timeout.ts';
import { streamGone, type EventStreams } from './event-streams.ts';
import type { BatchEventHub } from '../workflow/batch-events.ts';

const params = z.strictObject({ id: z.string() });

const DESCRIPTION =
  'Server-Sent Events. Every event carries the whole batch as `GET /v1/batches/:id` answers it. `status`: the ' +
  'first event of a connection (the current state) and every status change; `progress`: the counts moved (at ' +
  'most one a second). The stream ends after the event with an end status (completed, cancelled, failed). Event ' +
  'ids name the state (`<status>.<discovered>.<skipped>.<queued>.<completed>.<failed>`): a client reconnecting ' +
  'with `Last-Event-ID` gets the current state at once unless it is the one it already has (no duplicate), and ' +
  'then every change; reconnecting with the id of the end state answers 204 (EventSource stops reconnecting). ' +
  'Heartbeat comments every 15 s.';

/**
 * `GET /batches/:id/events` (scope `read`, tenant-scoped like `GET /batches/:id`). Driven by the batch's change
 * announcements through the process's {@link BatchEventHub}: no per-connection timer or poll.
 */
export function batchEventRoutes(
  app: FastifyInstance,
  batches: BatchApiDeps,
  hub: BatchEventHub,
  timeoutMs: number,
  streams: EventStreams,
): void {
  const { store } = batches;
  const read = (id: string): Promise<Batch | undefined> =>
    withDeadline(
      async () => {
        const s = await store.read(id);
        return s === undefined ? undefined : store.view(s);
      },
      timeoutMs,
      'queue_unavailable',
      'Redis',
    );

  app.get(
    '/batches/:id/events',
    {
      sse: 'only',
      config: { scope: 'read' },
      schema: {
        tags: ['batches', 'events'],
        summary: 'Live status and progress of a batch (text/event-stream; ends after the batch ends)',
        description: DESCRIPTION,
        params: zodJsonSchema(params),
        response: { 200: eventStreamResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = parseOrThrow(params, request.params, 'params');
      if (!isBatchId(id)) throw new LabelqError('not_found', `No batch ${String(id)}`);
      const { tenant } = request.principal;
      await withDeadline(() => store.readOwned(tenant, id), timeoutMs, 'queue_unavailable', 'Redis');

      const header = request.headers['last-event-id'];
      let lastId = typeof header === 'string' ? header : '';
      let lastStatus: BatchStatus | undefined;
      let ended = false;
      let chain = Promise.resolve();
      const deliver = (batch: Batch): void => {
        const eventId = batchEventId(batch);
        if (ended || eventId === lastId) return;
        const event: BatchEventType = batch.status === lastStatus ? 'progress' : 'status';
        lastId = eventId;
        lastStatus = batch.status;
        ended = isBatchEndStatus(batch.status);
        chain = chain
          .then(() => reply.sse.send({ id: eventId, event, data: batch }))
          .then(() => {
            if (ended) reply.sse.close();
          })
          .catch(() => reply.sse.close());
      };

      // Watch before the first read, so no change between the two is missed. Until that read is sent, changes
      // only mark that another read is needed: the order of the two reads is unknown.
      let started = false;
      let changedMeanwhile = false;
      const watching = hub.watch(id, (batch) => {
        if (started) deliver(batch);
        else changedMeanwhile = true;
      });
      // The subscriber connection retries forever: a Redis outage must answer 503, not hang the request. A watch
      // that is set up after the deadline is let go at once.
      const unwatch = await withDeadline(() => watching, timeoutMs, 'queue_unavailable', 'Redis').catch(
        (err: unknown) => {
          void watching.then((late) => late()).catch(() => undefined);
          throw err;
        },
      );
      // From here on the watch ends with the stream, even a stream the client leaves during the awaits below.
      if (!streams.hold(reply, unwatch)) throw streamGone();
      let current: Batch | undefined;
      try {
        current = await read(id);
      } catch (err) {
        unwatch();
        throw err;
      }
      if (!reply.sse.isConnected) throw streamGone();
      if (current === undefined || (isBatchEndStatus(current.status) && batchEventId(current) === lastId)) {
        unwatch();
        if (current === undefined) throw new LabelqError('not_found', `No batch ${id}`);
        // The client has the end state: 204 tells an EventSource not to reconnect.
        return reply.code(204).send();
      }
      reply.sse.keepAlive();
      started = true;
      deliver(current);
      if (changedMeanwhile && !ended) {
        const again = await read(id).catch(() => undefined);
        if (again !== undefined) deliver(again);
      }
      await chain;
    },
  );
}
