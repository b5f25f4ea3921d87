import type { FastifyError, FastifyInstance } from 'fastify';
import type { ErrorBody } from '@labelq/contracts';
import { LabelqError, toLabelqError, type ErrorCode } from '@labelq/errors';

/** Fastify and plugin error codes that are the client's fault, mapped to stable labelq codes. */
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_REQ_FILE_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_format',
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

/** Maps anything thrown in a route to a LabelqError: ours pass through, framework 4xx get a code. */
export function toHttpError(err: unknown): LabelqError {
  if (err instanceof LabelqError) return err;
  const fe = err as Partial<FastifyError> | undefined;
  const mapped = typeof fe?.code === 'string' ? FRAMEWORK_CODES[fe.code] : undefined;
  if (mapped) return new LabelqError(mapped, fe?.message, { cause: err });
  // A JSON body that does not parse is a SyntaxError with statusCode 400.
  if (fe?.statusCode === 400) return new LabelqError('invalid_request', fe.message, { cause: err });
  return toLabelqError(err);
}

export function errorBody(err: LabelqError): ErrorBody {
  return {
    error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
  };
}

/** `{"error": {"code", "message"}}` for every failure, including 404s and validation errors. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err, request, reply) => {
    const e = toHttpError(err);
    if (e.status >= 500) request.log.error({ err, code: e.code }, 'request failed');
    else request.log.info({ code: e.code, msg: e.message }, 'request refused');
    // Retryable server-side trouble: tell well-behaved clients when to come back (never for a refusal).
    if (e.status === 503 && e.retryable) void reply.header('retry-after', '1');
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
