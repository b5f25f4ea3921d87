import { isImageId, type ImageStatusBody } from '@labelq/contracts';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { errorResponses, eventStreamResponse } from '../http/response-schemas.ts';
import { parseOrThrow, zodJsonSchema } from '../http/validation.ts';
import { notFound, readImageStatus, readJobSnapshot } from '../status.ts';
import { withDeadline } from '../timeout.ts';
import type { ApiWorkflow } from '../workflow/deps.ts';
import { streamGone, type EventStreams } from './event-streams.ts';

const params = z.strictObject({ id: z.string() });

/** A status event's id: the state it reports, so a client resuming with Last-Event-ID is not told it again. */
function stateId(body: ImageStatusBody): string {
  return `${body.status}.${body.attemptsMade}`;
}

const finished = (b: ImageStatusBody): boolean => b.status === 'completed' || b.status === 'failed';

/**
 * `GET /images/:id/events` (scope `read`): Server-Sent Events of an image's status. The first event is the
 * current status; then one per change (queued, active, retried, completed, failed), driven by the process's
 * job-event subscription (no polling); the stream ends after the final status. Heartbeat comments keep idle
 * proxies from closing it. `Last-Event-ID` skips a status the client already has.
 */
export function eventRoutes(
  app: FastifyInstance,
  deps: ApiDeps,
  wf: ApiWorkflow,
  timeoutMs: number,
  streams: EventStreams,
): void {
  const read = async (id: string, tenant: string): Promise<ImageStatusBody | undefined> => {
    const snapshot = await withDeadline(
      () => readJobSnapshot(deps.queue, id),
      timeoutMs,
      'queue_unavailable',
      'Redis',
    );
    return readImageStatus(id, tenant, snapshot, deps.storage);
  };

  app.get(
    '/images/:id/events',
    {
      sse: 'only',
      config: { scope: 'read' },
      schema: {
        tags: ['images', 'events'],
        summary: 'Live status of an image (text/event-stream; ends after completed or failed)',
        params: zodJsonSchema(params),
        response: { 200: eventStreamResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = parseOrThrow(params, request.params, 'params');
      const { tenant } = request.principal;
      if (!isImageId(id)) throw notFound(id);
      const first = await read(id, tenant);
      if (first === undefined) throw notFound(id);
      const lastEventId = request.headers['last-event-id'];
      let last = typeof lastEventId === 'string' ? lastEventId : '';
      const send = async (body: ImageStatusBody): Promise<void> => {
        const sid = stateId(body);
        if (sid === last) return;
        last = sid;
        await reply.sse.send({ id: sid, event: 'status', data: body });
      };
      if (finished(first)) {
        await send(first);
        return;
      }
      reply.sse.keepAlive();
      // Subscribe before the first send so no change between the read and the subscription is missed: every
      // event triggers a fresh read, and sends are serialised.
      let chain = Promise.resolve();
      const unsubscribe = wf.jobEvents.subscribe(id, () => {
        chain = chain.then(async () => {
          if (!reply.sse.isConnected) return;
          const body = await read(id, tenant).catch(() => undefined);
          if (body === undefined) return;
          await send(body);
          if (finished(body)) reply.sse.close();
        });
      });
      // The client may have left during the first read: then this unsubscribes at once.
      if (!streams.hold(reply, unsubscribe)) throw streamGone();
      chain = chain.then(async () => {
        const body = (await read(id, tenant).catch(() => undefined)) ?? first;
        await send(body);
        if (finished(body)) reply.sse.close();
      });
      await chain;
    },
  );
}
