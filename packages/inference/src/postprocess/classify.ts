import type { ClassifyManifest } from '@labelq/models';
import type { LabelScore } from '@labelq/contracts';

/** Turns raw scores into confidences in [0, 1] per the manifest's activation. Pure. */
export function activate(
  scores: ArrayLike<number>,
  activation: ClassifyManifest['output']['activation'],
): number[] {
  const xs = Array.from(scores);
  switch (activation) {
    case 'softmax': {
      // Subtract the max so exp() cannot overflow.
      const max = Math.max(...xs);
      const exps = xs.map((x) => Math.exp(x - max));
      const sum = exps.reduce((s, x) => s + x, 0);
      return exps.map((x) => x / sum);
    }
    case 'sigmoid':
      return xs.map((x) => 1 / (1 + Math.exp(-x)));
    case 'none':
      // Graphs that already end in probabilities can still be off by float rounding.
      return xs.map((x) => Math.min(1, Math.max(0, x)));
  }
}

/**
 * Labels sorted by confidence (highest first; ties keep label order), at most `topK`, none below
 * `minConfidence`. Pure.
 */
export function topLabels(
  confidences: readonly number[],
  labels: readonly string[],
  topK: number,
  minConfidence: number,
): LabelScore[] {
  if (confidences.length !== labels.length) {
    throw new Error(`model produced ${confidences.length} scores for ${labels.length} labels`);
  }
  return confidences
    .map((confidence, i) => ({ name: labels[i]!, confidence, i }))
    .filter((l) => l.confidence >= minConfidence && !Number.isNaN(l.confidence))
    .sort((a, b) => b.confidence - a.confidence || a.i - b.i)
    .slice(0, topK)
    .map(({ name, confidence }) => ({ name, confidence }));
}
