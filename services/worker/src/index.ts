export { createWorkerRuntime, type WorkerRuntime, type WorkerRuntimeDeps } from './runtime.ts';
export { createProcessor, type ProcessorDeps } from './processor.ts';
export { ByteBudget } from './byte-budget.ts';
export { labelqTags } from './tags.ts';
export { startWorkerHttp, type WorkerHttp, type WorkerReadinessCheck } from './http.ts';
export { createWorkerMetrics, type WorkerMetrics } from './metrics.ts';
export { handBack } from './urgent-lane.ts';
