import { LabelqError } from '@labelq/errors';
import { describe, expect, it } from 'vitest';
import { mapS3Error } from './errors.ts';

const ctx = { bucket: 'b', key: 'k', op: 'GetObject' };
const sdk = (name: string, status?: number, extra: object = {}) =>
  Object.assign(new Error(name), {
    name,
    ...(status ? { $metadata: { httpStatusCode: status } } : {}),
    ...extra,
  });

describe('mapS3Error', () => {
  it.each([
    [sdk('NoSuchKey', 404), 'object_not_found', false],
    [sdk('NotFound', 404), 'object_not_found', false],
    // An operator problem (misconfigured bucket), not the client's missing object.
    [sdk('NoSuchBucket', 404), 'bucket_not_found', false],
    [sdk('InternalError', 500), 'storage_unavailable', true],
    [sdk('SlowDown', 503), 'storage_unavailable', true],
    [sdk('AccessDenied', 403), 'storage_rejected', false],
    [sdk('InvalidRequest', 400), 'storage_rejected', false],
    [sdk('SignatureDoesNotMatch', 403, { $fault: 'client' }), 'storage_rejected', false],
    [sdk('TimeoutError'), 'storage_unavailable', true],
    [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'storage_unavailable', true],
  ])('%s -> %s (retryable %s)', (err, code, retryable) => {
    const mapped = mapS3Error(err, ctx);
    expect(mapped.code).toBe(code);
    expect(mapped.retryable).toBe(retryable);
  });

  it('passes LabelqErrors through', () => {
    const e = new LabelqError('object_too_large');
    expect(mapS3Error(e, ctx)).toBe(e);
  });
});
