export { createWorkerRuntime, type WorkerRuntime, type WorkerRuntimeDeps } from './runtime.ts';
export { createProcessor, type ProcessorDeps } from './processor.ts';
export { ByteBudget } from './byte-budget.ts';
export { labelqOwnedKeys, labelqTags } from './tags.ts';
export { isReusable, modelRefs } from './result-document.ts';
export { LABELQ_VERSION } from './version.ts';
