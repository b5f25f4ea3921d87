import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route asks for the body itself ({@link continueBody}) once it has decided to read it: a client that
     * sent `Expect: 100-continue` and is refused first (upload budget full, size over the limit) never sends it.
     */
    continuesItself?: boolean;
  }
}

/**
 * How long a connection answered before its request body was read keeps being read (and discarded) after the
 * answer, at most, and how long it may be quiet meanwhile: nginx's `lingering_time` and `lingering_timeout`.
 */
export const LINGER_MAX_MS = 30_000;
export const LINGER_IDLE_MS = 5_000;

/** Requests that sent `Expect: 100-continue` and have not been told to send their body yet. */
const awaitingContinue = new WeakMap<IncomingMessage, ServerResponse>();
const lingering = new WeakSet<Socket>();

/** Writes `100 Continue` if the client asked for it and has not had it: it then sends the body. */
export function continueBody(request: FastifyRequest): void {
  const res = awaitingContinue.get(request.raw);
  if (res === undefined) return;
  awaitingContinue.delete(request.raw);
  if (!res.headersSent) res.writeContinue();
}

/**
 * A request answered before its body arrived whole (refused before or while reading it) gets its answer, not a
 * dropped connection:
 *
 * - `Expect: 100-continue` is honoured: `100 Continue` goes out just before the body is read (before any body
 *   parser; {@link continueBody} for routes that read it themselves), so a refusal (401, 429, 503
 *   `uploads_busy`, 413) comes before the client has sent a byte of it. Node would otherwise answer 100 at once.
 * - The answer says `Connection: close`, and the connection is closed in stages (RFC 9112 §9.6): the answer,
 *   then a half-close, then what the client still sends is read and discarded until it closes too (at most
 *   {@link LINGER_MAX_MS}, or {@link LINGER_IDLE_MS} of quiet). Node closes such a connection right after the
 *   answer, and the body bytes still arriving make the kernel reset it, which can erase the answer before the
 *   client has read it: the client saw a network error instead of 503 `uploads_busy`. Reading the rest of a
 *   refused body on a kept-alive connection instead (node's default there) would read up to the whole body,
 *   unbounded for a chunked one, before the next request.
 */
export function installEarlyAnswers(app: FastifyInstance): void {
  // With a listener, node leaves the 100 to us and hands the request over as a plain one.
  app.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.set(req, res);
    app.server.emit('request', req, res);
  });
  app.addHook('preParsing', (request, _reply, payload, done) => {
    if (request.routeOptions.config.continuesItself !== true) continueBody(request);
    done(null, payload);
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete) {
      void reply.header('connection', 'close');
      closeInStages(request.raw);
    }
    done(null, payload);
  });
}

/** Makes node's close of the request's connection after its answer a staged one (see installEarlyAnswers). */
function closeInStages(req: IncomingMessage): void {
  const socket = req.socket as Socket & { destroySoon?: () => void };
  if (lingering.has(socket)) return;
  lingering.add(socket);
  // What node does with a body nobody reads (IncomingMessage#_dump): pull it off the wire into nothing. The
  // route is done with it (it may have stopped at the limit, or never started).
  req.unpipe();
  req.removeAllListeners('data');
  req.resume();
  // Node ends a `Connection: close` response's socket with destroySoon() (end, then destroy once flushed):
  // here only the end. The HTTP server's sockets allow half-open, so reading goes on after the FIN.
  socket.destroySoon = () => {
    socket.end();
    const close = (): void => {
      clearTimeout(cap);
      socket.destroy();
    };
    const cap = setTimeout(close, LINGER_MAX_MS);
    cap.unref();
    socket.setTimeout(LINGER_IDLE_MS, close);
    // The client closed its side: it has read the answer, nothing more will come.
    socket.once('end', close);
    socket.once('close', () => clearTimeout(cap));
  };
}
