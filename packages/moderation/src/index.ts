export { DEFAULT_POLICY, type ModerationPolicy } from './policy.ts';
export { moderate } from './decide.ts';
export { loadModerationPolicy } from './load.ts';
