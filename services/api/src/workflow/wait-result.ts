import type { ImageStatusBody } from '@labelq/contracts';
import type { FastifyReply } from 'fastify';
import type { ApiDeps } from '../deps.ts';
import { readImageStatus, readJobSnapshot } from '../status.ts';
import { withDeadline } from '../timeout.ts';

/**
 * Waits up to `seconds` for tenant's image `id` to finish and answers its `GET /v1/images/:id` body, or
 * undefined when it did not finish in time (or the client went away). Event-driven: one listener on the
 * process's job-event subscription, one status read when an event says the job finished (and one at the start,
 * for a job that already did).
 */
export async function waitForImage(
  deps: ApiDeps,
  id: string,
  tenant: string,
  seconds: number,
  timeoutMs: number,
  reply: FastifyReply,
): Promise<ImageStatusBody | undefined> {
  const hub = deps.workflow?.jobEvents;
  if (hub === undefined || seconds <= 0) return undefined;
  const gone = new AbortController();
  const onClose = (): void => gone.abort();
  reply.raw.once('close', onClose);
  let body: ImageStatusBody | undefined;
  try {
    const done = await hub.waitUntil(
      id,
      seconds * 1000,
      async () => {
        const snapshot = await withDeadline(
          () => readJobSnapshot(deps.queue, id),
          timeoutMs,
          'queue_unavailable',
          'Redis',
        );
        if (snapshot !== undefined && snapshot.status !== 'completed' && snapshot.status !== 'failed') {
          return false;
        }
        body = await readImageStatus(id, tenant, snapshot, deps.storage);
        return body !== undefined && (body.status === 'completed' || body.status === 'failed');
      },
      gone.signal,
    );
    return done ? body : undefined;
  } finally {
    reply.raw.off('close', onClose);
  }
}
