export * from './ids.ts';
export * from './image-format.ts';
export * from './model-result.ts';
export * from './failure.ts';
export * from './job-payload.ts';
export * from './documents.ts';
export * from './api.ts';
export * from './access.ts';
