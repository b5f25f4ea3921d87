export { KEY_PREFIX } from './key-format.ts';
export { KeyStore, type CreateKeyOptions, type KeyStoreOptions, type Principal } from './key-store.ts';
export { OpenJobs } from './open-jobs.ts';
