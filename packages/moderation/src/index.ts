export {
  DEFAULT_POLICY,
  policySchema,
  policyFileSchema,
  mergePolicy,
  type ModerationPolicy,
  type PolicyFile,
} from './policy.ts';
export { moderate, decideScores, isModerationModel } from './decide.ts';
export { loadModerationPolicy } from './load.ts';
