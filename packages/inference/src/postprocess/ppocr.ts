// PP-OCR decoding, pure: the detector's probability map -> line boxes (DB post-processing, axis-aligned), and
// the recogniser's per-step character probabilities -> text (greedy CTC).

/** A line box in probability-map pixels (corners, x2/y2 exclusive) with its mean probability. */
export interface TextBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
}

export interface TextBoxOptions {
  /** Pixels above this are text. */
  binaryThreshold: number;
  /** Regions whose mean probability is below this are dropped. */
  boxThreshold: number;
  /** Growth per side: area x unclipRatio / perimeter (DB's regions are shrunk text cores). */
  unclipRatio: number;
  /** Regions narrower or lower than this many pixels (before growing) are noise. Default 3. */
  minSide?: number;
}

/**
 * The detector input size for an image: scaled so its longest side is at most `maxSide` (never enlarged), each
 * side rounded to a multiple of 32 (the network downsamples by 32), at least 32. Pure.
 */
export function textInputSize(
  width: number,
  height: number,
  maxSide: number,
): { width: number; height: number } {
  const s = Math.min(1, maxSide / Math.max(width, height));
  const round32 = (v: number) => Math.max(32, Math.round((v * s) / 32) * 32);
  return { width: round32(width), height: round32(height) };
}

/**
 * Connected regions (8-connected) of the thresholded map, each as its bounding box grown by the unclip distance
 * and clipped to the map. Rotated lines get their axis-aligned box (the recogniser then reads them poorly:
 * rotated text is out of scope). Largest first. Pure; an empty map gives [].
 */
export function findTextBoxes(
  prob: ArrayLike<number>,
  width: number,
  height: number,
  options: TextBoxOptions,
): TextBox[] {
  if (prob.length < width * height)
    throw new RangeError(`map has ${prob.length} values, need ${width * height}`);
  const minSide = options.minSide ?? 3;
  const seen = new Uint8Array(width * height);
  const stack = new Int32Array(width * height);
  const boxes: (TextBox & { area: number })[] = [];
  for (let start = 0; start < width * height; start++) {
    if (seen[start] || !((prob[start] ?? 0) > options.binaryThreshold)) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let [x1, y1, x2, y2] = [width, height, -1, -1];
    let sum = 0;
    let n = 0;
    while (top > 0) {
      const i = stack[--top]!;
      const x = i % width;
      const y = (i - x) / width;
      sum += prob[i] ?? 0;
      n++;
      if (x < x1) x1 = x;
      if (x > x2) x2 = x;
      if (y < y1) y1 = y;
      if (y > y2) y2 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const j = ny * width + nx;
          if (!seen[j] && (prob[j] ?? 0) > options.binaryThreshold) {
            seen[j] = 1;
            stack[top++] = j;
          }
        }
      }
    }
    const w = x2 - x1 + 1;
    const h = y2 - y1 + 1;
    const score = sum / n;
    if (w < minSide || h < minSide || !(score >= options.boxThreshold)) continue;
    const d = (w * h * options.unclipRatio) / (2 * (w + h));
    boxes.push({
      x1: Math.max(0, x1 - d),
      y1: Math.max(0, y1 - d),
      x2: Math.min(width, x2 + 1 + d),
      y2: Math.min(height, y2 + 1 + d),
      score,
      area: w * h,
    });
  }
  return boxes.sort((a, b) => b.area - a.area).map(({ area: _area, ...box }) => box);
}

/**
 * Greedy CTC over `steps` x `classes` probabilities: the best class per step, repeats merged, blanks (class 0)
 * dropped; class k (1..n) is `dictionary[k - 1]` and class n + 1 a space. Confidence: the mean probability of
 * the emitted characters (0 when none). Pure.
 */
export function ctcGreedy(
  probs: ArrayLike<number>,
  steps: number,
  classes: number,
  dictionary: readonly string[],
): { text: string; confidence: number } {
  if (probs.length < steps * classes)
    throw new RangeError(`need ${steps * classes} values, got ${probs.length}`);
  let text = '';
  let total = 0;
  let count = 0;
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    let bestP = -Infinity;
    for (let c = 0; c < classes; c++) {
      const p = probs[t * classes + c] ?? -Infinity;
      if (p > bestP) {
        bestP = p;
        best = c;
      }
    }
    if (best !== 0 && best !== previous) {
      text += best <= dictionary.length ? (dictionary[best - 1] ?? '') : ' ';
      total += bestP;
      count++;
    }
    previous = best;
  }
  return { text, confidence: count === 0 ? 0 : total / count };
}
