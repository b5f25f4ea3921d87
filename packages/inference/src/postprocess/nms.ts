/** A scored box in any consistent coordinate space (corners: x1 <= x2, y1 <= y2). */
export interface ScoredBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  /** Boxes only suppress boxes of the same class. */
  classIndex: number;
}

/** Intersection over union; 0 when either box has no area. */
export function iou(a: ScoredBox, b: ScoredBox): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = (a.x2 - a.x1) * (a.y2 - a.y1) + (b.x2 - b.x1) * (b.y2 - b.y1) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy per-class non-maximum suppression: highest score first, a box is dropped when it overlaps an already
 * kept box of its class by more than `iouThreshold`. Returns at most `maxOut` boxes sorted by score (ties keep
 * input order, so the result is deterministic).
 */
export function nonMaxSuppression(
  boxes: readonly ScoredBox[],
  iouThreshold: number,
  maxOut: number,
): ScoredBox[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const keptByClass = new Map<number, ScoredBox[]>();
  const kept: ScoredBox[] = [];
  for (const box of sorted) {
    if (kept.length >= maxOut) break;
    const same = keptByClass.get(box.classIndex) ?? [];
    if (same.some((k) => iou(k, box) > iouThreshold)) continue;
    same.push(box);
    keptByClass.set(box.classIndex, same);
    kept.push(box);
  }
  return kept;
}
