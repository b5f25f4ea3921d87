// `@labelq/contracts/testing`: valid documents for tests of every package, named in one place. Not used by
// production code.
import { RESULT_SCHEMA_VERSION, type FailureDocument, type ResultDocument } from './documents.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:01.000Z';
const T2 = '2026-01-01T00:00:02.000Z';

/** A valid result document (current version) for `id`, for tests that stand in for a worker. */
export function sampleResultDocument(id: string, over: Partial<ResultDocument> = {}): ResultDocument {
  const model = { name: 'alpha-net', version: '1', sha256: '0'.repeat(64) };
  return {
    status: 'completed',
    schemaVersion: RESULT_SCHEMA_VERSION,
    id,
    source: { bucket: 'b-test', key: 'k.jpg', etag: '"e"', bytes: 3 },
    image: { format: 'jpeg', width: 2, height: 1 },
    results: [{ task: 'classify', model, labels: [{ name: 'a', confidence: 0.9 }] }],
    purpose: 'tagging',
    origin: 's3',
    provenance: { labelqVersion: '0.1.0', models: [model], attempt: 1 },
    timings: {
      submittedAt: T0,
      startedAt: T1,
      finishedAt: T2,
      downloadMs: 1,
      budgetWaitMs: 0,
      queueMs: 0,
      decodeMs: 1,
      models: { 'alpha-net': 1 },
      totalMs: 3,
    },
    ...over,
  };
}

/** A valid failure document (current version) for `id`. */
export function sampleFailureDocument(id: string, over: Partial<FailureDocument> = {}): FailureDocument {
  return {
    status: 'failed',
    schemaVersion: RESULT_SCHEMA_VERSION,
    id,
    source: { bucket: 'b-test', key: 'x' },
    error: { code: 'storage_unavailable', message: 'S3 was down' },
    attemptsMade: 5,
    timings: { submittedAt: T0, startedAt: T1, finishedAt: T2 },
    ...over,
  };
}
