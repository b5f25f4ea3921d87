import {
  MODERATION_CATEGORIES,
  type ModelResult,
  type Moderation,
  type ModerationCategory,
  type ModerationReason,
} from '@labelq/contracts';
import { evaluateRules, ruleApplies, type TriggeredRule } from './evaluate-rules.ts';
import type { ModerationPolicy } from './policy.ts';

/** True when `result` comes from an NSFW model (a classifier whose labels include every moderation category). */
export function isModerationModel(result: ModelResult): boolean {
  return (
    result.task === 'classify' && MODERATION_CATEGORIES.every((c) => result.labels.some((l) => l.name === c))
  );
}

function triggered(
  scores: Record<ModerationCategory, number> | undefined,
  thresholds: ModerationPolicy['block'],
): ModerationReason[] {
  if (scores === undefined) return [];
  const out: ModerationReason[] = [];
  for (const category of MODERATION_CATEGORIES) {
    const threshold = thresholds[category];
    if (threshold !== undefined && scores[category] >= threshold) {
      out.push({ category, score: scores[category], threshold });
    }
  }
  return out;
}

/** Highest score first; a text match (no score) is certain and sorts as 1. Stable. */
const byScore = (a: ModerationReason, b: ModerationReason): number =>
  ('score' in b ? b.score : 1) - ('score' in a ? a.score : 1);

/**
 * Applies `policy` to scores per category. Pure: the same scores and policy always give the same decision.
 */
export function decideScores(
  scores: Record<ModerationCategory, number> | undefined,
  policy: ModerationPolicy,
  models: string[] = [],
  rules: readonly TriggeredRule[] = [],
): Moderation {
  const at = (level: 'block' | 'review'): ModerationReason[] =>
    [
      ...triggered(scores, policy[level]),
      ...rules.filter((r) => r.action === level).map((r) => r.reason),
    ].sort(byScore);
  const block = at('block');
  if (block.length > 0) return { decision: 'block', reasons: block, policy: policy.version, models };
  const review = at('review');
  if (review.length > 0) return { decision: 'review', reasons: review, policy: policy.version, models };
  return { decision: 'allow', reasons: [], policy: policy.version, models };
}

/**
 * The moderation verdict for an image's model results, or `undefined` when nothing the policy judges ran (no
 * NSFW model, and no model any of its rules looks at). With several NSFW models, each category takes the
 * highest score any of them gave (the stricter reading). `models` lists every model whose output was judged.
 */
export function moderate(results: readonly ModelResult[], policy: ModerationPolicy): Moderation | undefined {
  const nsfw = results.filter(isModerationModel);
  const rules = policy.rules ?? [];
  const judged = results.filter((r) => nsfw.includes(r) || rules.some((rule) => ruleApplies(rule, r)));
  if (judged.length === 0) return undefined;
  let scores: Record<ModerationCategory, number> | undefined;
  for (const result of nsfw) {
    if (result.task !== 'classify') continue;
    scores ??= { Porn: 0, Hentai: 0, Sexy: 0 };
    for (const label of result.labels) {
      const category = label.name as ModerationCategory;
      if (category in scores) scores[category] = Math.max(scores[category], label.confidence);
    }
  }
  return decideScores(
    scores,
    policy,
    [...new Set(judged.map((r) => r.model.name))],
    evaluateRules(results, rules),
  );
}
