export {
  DEFAULT_POLICY,
  mergePolicy,
  policyFileSchema,
  policySchema,
  type ModerationPolicy,
  type PolicyFile,
} from './policy.ts';
export {
  classRuleSchema,
  instanceRuleSchema,
  policyRuleSchema,
  textRuleSchema,
  type PolicyRule,
  type PolicyRuleInput,
} from './rules.ts';
export { evaluateRules, type TriggeredRule } from './evaluate-rules.ts';
export { decideScores, moderate } from './decide.ts';
export { loadModerationPolicy } from './load.ts';
export * from './tenant-policy.ts';
export * from './redecide.ts';
export * from './review-queue.ts';
