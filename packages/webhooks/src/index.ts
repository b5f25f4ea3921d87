export * from './targets.ts';
export * from './secrets.ts';
export * from './store.ts';
export * from './post.ts';
export * from './events.ts';
export * from './worker.ts';
export * from './image-events.ts';
export * from './callbacks.ts';
