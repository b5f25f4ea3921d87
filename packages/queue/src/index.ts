export { PRIORITY } from './job.ts';
export { BACKOFF_TYPE, backoffDelay } from './backoff.ts';
export { createWorkerConnection, assertNoEviction, assertPersistence, readPersistence } from './redis.ts';
export {
  classifyJob,
  classifyJobOptions,
  createClassifyQueue,
  enqueueClassify,
  type ClassifyQueue,
} from './queue.ts';
export { queueDepth } from './depth.ts';
export { QueueAdmin, type QueueAdminOptions } from './admin.ts';
export { hintUrgentJobs, isUrgentJob, isUrgentPriority, urgentHintsKey, urgentJobIsNext } from './urgent.ts';
export { closeQueueClients, settleWithin, type CloseBounds, type QueueClient } from './close.ts';
