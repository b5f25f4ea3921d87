import { LabelqError } from '@labelq/errors';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * A stream closed before its first event: the client left (nobody reads the answer), or the API is stopping
 * (503, retryable: the client tries again, reaching another instance).
 */
export const streamGone = (): LabelqError =>
  new LabelqError(
    'server_stopping',
    'The event stream closed before it started (the API is stopping); retry',
  );

/** Whether `reply`'s connection is closed already (the client left), whatever @fastify/sse has noticed. */
export function clientLeft(reply: FastifyReply): boolean {
  return reply.raw.destroyed || reply.raw.socket?.destroyed === true;
}

/** The event-stream routes' open streams, ended when the app closes. */
export interface EventStreams {
  /**
   * Tracks `reply`'s stream until it closes and runs `cleanup` once when it does, or at once when it already has:
   * @fastify/sse runs its close callbacks only once, so one registered after the client left would never run.
   * Returns whether the stream is still open (false: the caller stops).
   */
  hold(reply: FastifyReply, cleanup: () => void): boolean;
}

/**
 * Streams last as long as their subject (a batch: hours) and heartbeats keep their connections busy, so Fastify's
 * close, which waits for busy connections, would wait for all of them: a `preClose` hook ends them first. Clients
 * reconnect with `Last-Event-ID` (to another instance, or this one restarted) and miss nothing.
 */
export function eventStreams(app: FastifyInstance): EventStreams {
  const open = new Set<FastifyReply>();
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    for (const reply of [...open]) reply.sse.close();
    done();
  });
  return {
    hold(reply, cleanup) {
      open.add(reply);
      reply.sse.onClose(() => {
        open.delete(reply);
        cleanup();
      });
      // @fastify/sse learns that a client left only from the response's 'close' event, and it listens from the
      // moment the handler starts, after the auth hooks: a client that left during them would look connected
      // until a heartbeat failed to write (15 s later), its watch held all that time. Ask the socket instead.
      if (closing || clientLeft(reply)) reply.sse.close();
      if (reply.sse.isConnected) return true;
      if (open.delete(reply)) cleanup();
      return false;
    },
  };
}
