export {
  MODERATION_CATEGORIES,
  DEFAULT_POLICY,
  policySchema,
  policyFileSchema,
  mergePolicy,
  type ModerationCategory,
  type ModerationPolicy,
  type PolicyFile,
} from './policy.ts';
export {
  moderate,
  decideScores,
  isModerationModel,
  type Moderation,
  type ModerationDecision,
  type ModerationReason,
} from './decide.ts';
export { loadModerationPolicy } from './load.ts';
