import { describe, expect, it } from 'vitest';
import { objectImageId } from './ids.ts';
import {
  DEFAULT_TENANT,
  encodeJobPayload,
  jobPayloadV1Schema,
  parseJobPayload,
  type ClassifyJob,
  type StoredJobPayload,
} from './job-payload.ts';

/** A payload exactly as labelq 0.1.0's API wrote it (v1). */
const v1: StoredJobPayload = {
  v: 1,
  id: objectImageId('default', 'b-1', 'k', ['m']),
  bucket: 'b-1',
  key: 'k',
  models: ['m'],
  purpose: 'tagging',
  origin: 's3',
  metadata: { ref: 7 },
  submittedAt: new Date(0).toISOString(),
};
const current: ClassifyJob = { ...v1, v: 2, tenant: DEFAULT_TENANT };

describe('rolling deploy: job payloads', () => {
  it('a new worker reads what an old API wrote (v1 -> the default tenant)', () => {
    expect(parseJobPayload(v1)).toEqual(current);
  });

  it('an old worker reads what the new API writes for the default tenant (it is v1)', () => {
    const stored = encodeJobPayload(current);
    // The frozen v1 schema is exactly what a 0.1.0 worker validates with.
    expect(jobPayloadV1Schema.strict().parse(stored)).toEqual(v1);
    expect(parseJobPayload(stored)).toEqual(current);
  });

  it('writes v2 only for jobs that need it (another tenant) and reads it back', () => {
    const acme: ClassifyJob = { ...current, tenant: 'acme' };
    const stored = encodeJobPayload(acme);
    expect(stored).toMatchObject({ v: 2, tenant: 'acme' });
    expect(jobPayloadV1Schema.safeParse(stored).success).toBe(false);
    expect(parseJobPayload(stored)).toEqual(acme);
  });

  it('the noPriorResult hint rides in v1 and v2; a 0.1.0 worker drops it, this one keeps it', () => {
    const hinted: ClassifyJob = { ...current, noPriorResult: true };
    const stored = encodeJobPayload(hinted);
    expect(stored).toEqual({ ...v1, noPriorResult: true });
    // 0.1.0 validated with the (non-strict) v1 schema: unknown keys are stripped, the job still runs.
    expect(jobPayloadV1Schema.parse(stored)).toEqual(v1);
    expect(parseJobPayload(stored)).toEqual(hinted);
    const acme: ClassifyJob = { ...hinted, tenant: 'acme' };
    expect(parseJobPayload(encodeJobPayload(acme))).toEqual(acme);
    // A hint never makes a job poison: false is as good as absent.
    expect(parseJobPayload({ ...v1, noPriorResult: false })).toEqual({ ...current, noPriorResult: false });
  });

  it.each([
    ['a future version', { ...v1, v: 3 }],
    ['v2 without a tenant', { ...v1, v: 2 }],
    ['a bad tenant', { ...current, tenant: '../x' }],
    ['a bad id', { ...v1, id: 'nope' }],
    ['no models', { ...v1, models: [] }],
    ['a bad purpose', { ...v1, purpose: 'fun' }],
    ['not an object', 'x'],
  ])('refuses %s as invalid_request (poison: not retried)', (_name, data) => {
    expect(() => parseJobPayload(data)).toThrow(
      expect.objectContaining({ code: 'invalid_request', retryable: false }),
    );
  });
});
