export * from './job.ts';
export { BACKOFF_TYPE, MAX_BACKOFF_MS, backoffDelay } from './backoff.ts';
export { createWorkerConnection, assertNoEviction } from './redis.ts';
export { parseJobData } from './validate.ts';
export { classifyJobOptions, createClassifyQueue, enqueueClassify } from './queue.ts';
export type { ResultDocument, FailureDocument, SourceRef, ResultTimings } from './result-document.ts';
