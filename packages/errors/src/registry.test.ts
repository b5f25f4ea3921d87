import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode, type ErrorCode } from './codes.ts';
import { LabelqError, toLabelqError } from './labelq-error.ts';

const codes = Object.keys(ERROR_CODES) as ErrorCode[];

describe('the error registry', () => {
  it.each(codes)('%s: a snake_case code, an HTTP error status and a message', (code) => {
    const { status, message } = ERROR_CODES[code];
    expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(600);
    expect(message.length).toBeGreaterThan(0);
  });

  it('retries only server-side trouble and 429s: no other client error (4xx) is retryable', () => {
    const retryable4xx = codes.filter(
      (c) => ERROR_CODES[c].retryable && ERROR_CODES[c].status < 500 && ERROR_CODES[c].status !== 429,
    );
    expect(retryable4xx).toEqual([]);
  });

  it.each([
    // Outages are retried with backoff.
    ['storage_unavailable', 503, true],
    ['queue_unavailable', 503, true],
    // Capacity, not an outage: the API's own saturation has its own codes.
    ['uploads_busy', 503, true],
    ['server_busy', 503, true],
    ['timeout', 504, true],
    ['inference_failed', 500, true],
    // A bug or an unforeseen failure is not retried by default.
    ['internal', 500, false],
    // Distinct codes instead of `retryable` overrides at call sites.
    ['bucket_not_found', 502, false],
    ['storage_rejected', 502, false],
    ['model_load_failed', 500, false],
    ['model_output_invalid', 500, false],
    ['document_invalid', 500, false],
    ['redis_unsupported', 500, false],
    // Hostile or malformed HTTP: a refusal, never retried; distinct from an image format the API refuses.
    ['invalid_request', 400, false],
    ['unsupported_media_type', 415, false],
    ['unsupported_format', 415, false],
    ['headers_too_large', 431, false],
    ['request_timeout', 408, false],
    ['payload_too_large', 413, false],
  ] as const)('%s answers %i, retryable %s', (code, status, retryable) => {
    expect(ERROR_CODES[code]).toMatchObject({ status, retryable });
    expect(new LabelqError(code)).toMatchObject({ code, status, retryable });
  });
});

describe('LabelqError', () => {
  it('takes status and retryability from its code only', () => {
    const e = new LabelqError('storage_unavailable', 'down', { details: { bucket: 'b' } });
    expect([e.status, e.retryable, e.message, e.details]).toEqual([503, true, 'down', { bucket: 'b' }]);
  });

  it('survives a worker-thread boundary (structured clone) and JSON', () => {
    const e = new LabelqError('image_decode_failed', 'bad jpeg', { details: { format: 'jpeg' } });
    const back = toLabelqError(structuredClone(e.toJSON()));
    expect(back).toBeInstanceOf(LabelqError);
    expect(back).toMatchObject({
      code: 'image_decode_failed',
      message: 'bad jpeg',
      retryable: false,
      status: 422,
    });
    expect(toLabelqError(JSON.parse(JSON.stringify(e)))).toMatchObject({ code: 'image_decode_failed' });
  });

  it('ignores a retryable flag carried by a serialised error: the code decides', () => {
    expect(toLabelqError({ code: 'internal', message: 'x', retryable: true }).retryable).toBe(false);
  });

  it.each([
    [new Error('boom'), 'internal'],
    ['a string', 'internal'],
    [{ code: 'ECONNRESET', message: 'reset' }, 'internal'],
  ])('turns anything else (%s) into internal', (thrown, code) => {
    expect(toLabelqError(thrown).code).toBe(code);
  });

  it('recognises only registered codes', () => {
    expect(isErrorCode('timeout')).toBe(true);
    expect(isErrorCode('nope')).toBe(false);
    expect(isErrorCode(undefined)).toBe(false);
  });
});
