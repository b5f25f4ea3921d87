import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyInstance } from 'fastify';
import type { ErrorBody } from '@labelq/contracts';
import { ERROR_CODES, LabelqError, toLabelqError, type ErrorCode } from '@labelq/errors';
import { redisUnavailable } from '../redis-errors.ts';
import { RAW_SECURITY_HEADERS } from './security.ts';

/** Fastify and plugin error codes that are the client's fault, mapped to stable labelq codes. */
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  // A Content-Type no parser takes (application/x-www-form-urlencoded, text/xml): the route's fault to name.
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_TYPE: 'invalid_request',
  FST_ERR_CTP_INVALID_TYPE: 'invalid_request',
  FST_PARTS_LIMIT: 'invalid_request',
  FST_FILES_LIMIT: 'invalid_request',
  FST_FIELDS_LIMIT: 'invalid_request',
  FST_PROTO_VIOLATION: 'invalid_request',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
};

/** What messages say about the request: `POST /v1/jobs`, its Content-Type, its route's body limit. */
interface RequestContext {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  routeOptions?: { bodyLimit?: number };
}

/** Maps anything thrown in a route to a LabelqError: ours pass through, framework 4xx get a code. */
export function toHttpError(err: unknown, request?: RequestContext): LabelqError {
  if (err instanceof LabelqError) return err;
  const fe = err as Partial<FastifyError> | undefined;
  const mapped = typeof fe?.code === 'string' ? FRAMEWORK_CODES[fe.code] : undefined;
  if (mapped === 'unsupported_media_type' && request) {
    return unsupportedMediaType(request, { cause: err });
  }
  const bodyLimit = request?.routeOptions?.bodyLimit;
  if (fe?.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && bodyLimit !== undefined) {
    return new LabelqError(
      'payload_too_large',
      `The body exceeds the limit of ${bodyLimit} bytes for ${routeName(request!)}`,
      { cause: err, details: { maxBytes: bodyLimit } },
    );
  }
  if (mapped) return new LabelqError(mapped, fe?.message, { cause: err });
  // A JSON body that does not parse is a SyntaxError with statusCode 400.
  if (fe?.statusCode === 400) return new LabelqError('invalid_request', fe.message, { cause: err });
  // A Redis call without a deadline of its own (most go through withDeadline, which codes them already).
  return redisUnavailable(err) ?? toLabelqError(err);
}

function routeName(request: RequestContext): string {
  return `${request.method} ${request.url.split('?')[0]}`;
}

/** 415 `unsupported_media_type` naming the route and the media type it was sent (parameters left out). */
export function unsupportedMediaType(
  request: RequestContext,
  options: { cause?: unknown; accepts?: string } = {},
): LabelqError {
  const type = request.headers['content-type'];
  const sent =
    typeof type === 'string'
      ? `Content-Type "${type.split(';')[0]!.trim().slice(0, 100)}"`
      : 'a body without a Content-Type';
  const wants = options.accepts ? `; send ${options.accepts}` : '';
  return new LabelqError('unsupported_media_type', `${routeName(request)} does not take ${sent}${wants}`, {
    cause: options.cause,
  });
}

export function errorBody(err: LabelqError): ErrorBody {
  return {
    error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
  };
}

/** `{"error": {"code", "message"}}` for every failure, including 404s and validation errors. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const e = toHttpError(err, request);
    if (e.status >= 500) request.log.error({ err, code: e.code }, 'request failed');
    else request.log.info({ code: e.code, msg: e.message }, 'request refused');
    // Retryable server-side trouble: tell well-behaved clients when to come back (never for a refusal).
    // A 429 says when itself (details.retryAfterSeconds; the rate limiter sets the header on its own).
    const retryAfter = e.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(Math.ceil(retryAfter)));
    else if (e.status === 503 && e.retryable) void reply.header('retry-after', '1');
    // Internal messages may carry stack-ish detail from libraries: keep them out of responses.
    const safe = e.code === 'internal' ? new LabelqError('internal') : e;
    return reply.status(e.status).send(errorBody(safe));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(errorBody(new LabelqError('not_found', `Route ${request.method} ${request.url} not found`))),
  );
}

/** HTTP parser errors (node's `clientError`) that get their own code; any other `HPE_*` is `invalid_request`. */
const CLIENT_ERROR_CODES: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'headers_too_large',
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout',
};

export interface ClientErrorLimits {
  /** `API_REQUEST_TIMEOUT_MS`, named in the 408 message. */
  requestTimeoutMs: number;
  /** The HTTP parser's limit on the request line and headers, named in the 431 message. */
  maxHeaderBytes: number;
}

interface InFlightSocket extends Socket {
  /** The ServerResponse node is writing on this socket, if any (node's own clientError default checks it). */
  _httpMessage?: { headersSent?: boolean } | null;
}

/**
 * Fastify's `clientErrorHandler`: what a connection gets when node's HTTP parser refuses it before any route
 * runs (headers over the limit, a request slower than `requestTimeout`, bytes that are not HTTP). Writes our
 * coded body (`headers_too_large` 431, `request_timeout` 408, `invalid_request` 400) with `Connection: close`
 * and closes the socket. Never throws: a reset or already destroyed socket is only closed.
 */
export function clientErrorHandler(
  logger: FastifyBaseLogger,
  limits: ClientErrorLimits,
): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    try {
      const reason = err.code ?? '';
      const parserError = reason.startsWith('HPE_');
      if (socket.destroyed || (!parserError && !(reason in CLIENT_ERROR_CODES))) {
        // ECONNRESET, EPIPE and the like: the peer is gone, there is nobody to answer.
        logger.debug({ err: reason || err.message }, 'client connection error');
        return;
      }
      const code = CLIENT_ERROR_CODES[reason] ?? 'invalid_request';
      const message =
        code === 'headers_too_large'
          ? `The request line and headers exceed ${limits.maxHeaderBytes} bytes`
          : code === 'request_timeout'
            ? `The request (headers and body) did not arrive within ${limits.requestTimeoutMs} ms`
            : `The request is not valid HTTP/1.1 (${reason})`;
      logger.info({ code, reason }, 'connection refused');
      // Like node's own default: answer only if no byte of a response has gone out on this socket yet (a
      // route that already answered, e.g. a 413 while the body still streamed in, must not get a second one).
      const inFlight = (socket as InFlightSocket)._httpMessage;
      if (!socket.writable || inFlight?.headersSent) return;
      const body = JSON.stringify(errorBody(new LabelqError(code, message)));
      const { status } = ERROR_CODES[code];
      const head = [
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
        'Content-Type: application/json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
        ...Object.entries(RAW_SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}`),
      ];
      // Small enough to reach the kernel at once, so closing right after loses nothing (node does the same).
      socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
    } catch (writeErr) {
      logger.debug({ err: writeErr }, 'could not answer a client error');
    } finally {
      socket.destroy();
    }
  };
}
