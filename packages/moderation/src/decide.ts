import {
  MODERATION_CATEGORIES,
  type ModelResult,
  type Moderation,
  type ModerationCategory,
  type ModerationReason,
} from '@labelq/contracts';
import type { ModerationPolicy } from './policy.ts';

/** True when `result` comes from an NSFW model (its labels include every moderation category). */
export function isModerationModel(result: ModelResult): boolean {
  return (
    result.instances === undefined &&
    MODERATION_CATEGORIES.every((c) => result.labels.some((l) => l.name === c))
  );
}

function triggered(
  scores: Record<ModerationCategory, number>,
  thresholds: ModerationPolicy['block'],
): ModerationReason[] {
  const out: ModerationReason[] = [];
  for (const category of MODERATION_CATEGORIES) {
    const threshold = thresholds[category];
    if (threshold !== undefined && scores[category] >= threshold) {
      out.push({ category, score: scores[category], threshold });
    }
  }
  return out.sort((a, b) => b.score - a.score);
}

/**
 * Applies `policy` to scores per category. Pure: the same scores and policy always give the same decision.
 */
export function decideScores(
  scores: Record<ModerationCategory, number>,
  policy: ModerationPolicy,
  models: string[] = [],
): Moderation {
  const block = triggered(scores, policy.block);
  if (block.length > 0) return { decision: 'block', reasons: block, policy: policy.version, models };
  const review = triggered(scores, policy.review);
  if (review.length > 0) return { decision: 'review', reasons: review, policy: policy.version, models };
  return { decision: 'allow', reasons: [], policy: policy.version, models };
}

/**
 * The moderation verdict for an image's model results, or `undefined` when no NSFW model ran. With several
 * NSFW models, each category takes the highest score any of them gave (the stricter reading).
 */
export function moderate(results: readonly ModelResult[], policy: ModerationPolicy): Moderation | undefined {
  const nsfw = results.filter(isModerationModel);
  if (nsfw.length === 0) return undefined;
  const scores = { Porn: 0, Hentai: 0, Sexy: 0 } satisfies Record<ModerationCategory, number>;
  for (const result of nsfw) {
    for (const label of result.labels) {
      const category = label.name as ModerationCategory;
      if (category in scores) scores[category] = Math.max(scores[category], label.confidence);
    }
  }
  return decideScores(
    scores,
    policy,
    nsfw.map((r) => r.model.name),
  );
}
