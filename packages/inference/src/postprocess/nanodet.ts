import { LabelqError } from '@labelq/errors';
import type { NanodetManifest } from '@labelq/models';
import type { Instance, LabelScore } from '@labelq/contracts';
import { nonMaxSuppression, type ScoredBox } from './nms.ts';

/** The part of an onnxruntime Tensor the decoder reads (an `ort.Tensor` fits). */
export interface NanodetOutput {
  readonly dims: readonly number[];
  readonly data: unknown;
}

export interface NanodetDetections {
  /** Best instance confidence per class, highest first (no topK / minConfidence cut: the caller's job). */
  labels: LabelScore[];
  /** After per-class NMS and `maxInstances`, highest first; boxes normalised to the model input, in [0, 1]. */
  instances: Instance[];
}

/**
 * Decodes NanoDet (GFL) heads. Per stride s the feature map has ceil(W/s) x ceil(H/s) cells in row-major order;
 * cell (col, row) is centred at ((col + 0.5) s, (row + 0.5) s) in input pixels. Each cell has one score per
 * class and, per box side (left, top, right, bottom), regMax + 1 logits: softmax over them gives a distribution
 * over distances 0..regMax in units of s, and its expectation is the distance from the centre to that side.
 * Candidates scoring at least `scoreThreshold` go through per-class NMS, then the best `maxInstances` remain.
 * With 'fill' resizing, coordinates normalised to the input equal those of the original image. Pure.
 */
export function decodeNanodet(
  outputs: Record<string, NanodetOutput>,
  manifest: NanodetManifest,
): NanodetDetections {
  const { output, input, labels } = manifest;
  const bins = output.regMax + 1;
  const candidates: ScoredBox[] = [];
  const probs = new Float64Array(bins);
  for (const head of output.strides) {
    const cols = Math.ceil(input.width / head.stride);
    const rows = Math.ceil(input.height / head.stride);
    const scores = tensor(outputs, head.scores, manifest, [cols * rows, labels.length]);
    const boxes = tensor(outputs, head.boxes, manifest, [cols * rows, 4 * bins]);
    for (let cell = 0; cell < cols * rows; cell++) {
      let distances: number[] | undefined;
      for (let c = 0; c < labels.length; c++) {
        const raw = scores[cell * labels.length + c] ?? 0;
        const score = output.scoreActivation === 'sigmoid' ? 1 / (1 + Math.exp(-raw)) : raw;
        if (!(score >= output.scoreThreshold)) continue;
        // Only cells with a candidate pay for the four softmaxes.
        distances ??= sideDistances(boxes, cell * 4 * bins, bins, probs, head.stride);
        const [l, t, r, b] = distances as [number, number, number, number];
        const cx = ((cell % cols) + 0.5) * head.stride;
        const cy = (Math.floor(cell / cols) + 0.5) * head.stride;
        candidates.push({
          x1: clamp01((cx - l) / input.width),
          y1: clamp01((cy - t) / input.height),
          x2: clamp01((cx + r) / input.width),
          y2: clamp01((cy + b) / input.height),
          score: Math.min(score, 1),
          classIndex: c,
        });
      }
    }
  }
  const kept = nonMaxSuppression(candidates, output.iouThreshold, output.maxInstances);
  const instances: Instance[] = kept.map((k) => ({
    label: labels[k.classIndex] ?? String(k.classIndex),
    confidence: k.score,
    box: { x: k.x1, y: k.y1, width: k.x2 - k.x1, height: k.y2 - k.y1 },
  }));
  const best = new Map<string, number>();
  for (const inst of instances) if (!best.has(inst.label)) best.set(inst.label, inst.confidence);
  return { labels: [...best].map(([name, confidence]) => ({ name, confidence })), instances };
}

/** Expected distance per side (l, t, r, b) in input pixels: softmax over the bins, mean bin index x stride. */
function sideDistances(
  boxes: ArrayLike<number>,
  offset: number,
  bins: number,
  probs: Float64Array,
  stride: number,
): number[] {
  const out: number[] = [];
  for (let side = 0; side < 4; side++) {
    const base = offset + side * bins;
    let max = -Infinity;
    for (let k = 0; k < bins; k++) max = Math.max(max, boxes[base + k] ?? 0);
    let sum = 0;
    for (let k = 0; k < bins; k++) {
      probs[k] = Math.exp((boxes[base + k] ?? 0) - max);
      sum += probs[k] ?? 0;
    }
    let expected = 0;
    for (let k = 0; k < bins; k++) expected += ((probs[k] ?? 0) / sum) * k;
    out.push(expected * stride);
  }
  return out;
}

/** The output's data, checked to be [1, rows, cols] (or [rows, cols]) floats. */
function tensor(
  outputs: Record<string, NanodetOutput>,
  name: string,
  manifest: NanodetManifest,
  [rows, cols]: [number, number],
): ArrayLike<number> {
  const t = outputs[name];
  const fail = (why: string): never => {
    throw new LabelqError('manifest_invalid', `model ${manifest.name}: output '${name}' ${why}`, {
      details: { model: manifest.name, output: name },
    });
  };
  if (!t) return fail('is missing');
  const dims = t.dims[0] === 1 && t.dims.length === 3 ? t.dims.slice(1) : t.dims;
  if (dims.length !== 2 || dims[0] !== rows || dims[1] !== cols) {
    fail(`has shape [${t.dims.join(', ')}], expected [1, ${rows}, ${cols}]`);
  }
  if (!(t.data instanceof Float32Array) && !Array.isArray(t.data)) fail('is not float32');
  return t.data as ArrayLike<number>;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
