import { LabelqError } from '@labelq/errors';
import type { CenternetManifest } from '@labelq/models';
import type { Instance, LabelScore } from '@labelq/contracts';
import type { NanodetOutput } from './nanodet.ts';
import { nonMaxSuppression, type ScoredBox } from './nms.ts';

export interface Detections {
  /** Best instance confidence per class, highest first (no topK / minConfidence cut: the caller's job). */
  labels: LabelScore[];
  /** After per-class NMS and `maxInstances`, highest first; boxes normalised to the model input, in [0, 1]. */
  instances: Instance[];
}

/**
 * Decodes a detector whose graph already picked its candidates: one [1, N, 6] (or [N, 6]) output, each row
 * `x1, y1, x2, y2, score, class index` (CenterNet's peak finding and top-100 run in-graph). Rows scoring at least
 * `scoreThreshold` go through per-class NMS (CenterNet's max-pool peaks still leave the same object at two
 * neighbouring scales now and then), then the best `maxInstances` remain. Pure.
 *
 * Throws `manifest_invalid` when the named output is missing or not [.., 6]; `model_output_invalid` when a
 * kept row's class index is not a label index.
 */
export function decodeCenternet(
  outputs: Record<string, NanodetOutput>,
  manifest: CenternetManifest,
  outputName: string,
): Detections {
  const { output, input, labels } = manifest;
  const t = outputs[outputName];
  const fail = (why: string): never => {
    throw new LabelqError('manifest_invalid', `model ${manifest.name}: output '${outputName}' ${why}`, {
      details: { model: manifest.name, output: outputName },
    });
  };
  if (!t) return fail('is missing');
  const dims = t.dims.length === 3 && t.dims[0] === 1 ? t.dims.slice(1) : t.dims;
  if (dims.length !== 2 || dims[1] !== 6) fail(`has shape [${t.dims.join(', ')}], expected [1, N, 6]`);
  if (!(t.data instanceof Float32Array) && !Array.isArray(t.data)) fail('is not float32');
  const data = t.data as ArrayLike<number>;
  const rows = dims[0] ?? 0;
  const sx = output.boxUnits === 'pixels' ? 1 / input.width : 1;
  const sy = output.boxUnits === 'pixels' ? 1 / input.height : 1;
  const candidates: ScoredBox[] = [];
  for (let r = 0; r < rows; r++) {
    const o = r * 6;
    const score = data[o + 4] ?? NaN;
    // NaN scores fail this test too: a broken row is never reported.
    if (!(score >= output.scoreThreshold)) continue;
    const cls = data[o + 5] ?? NaN;
    if (!Number.isInteger(cls) || cls < 0 || cls >= labels.length) {
      throw new LabelqError(
        'model_output_invalid',
        `model ${manifest.name}: row ${r} has class index ${cls}; the manifest has ${labels.length} labels`,
        { details: { model: manifest.name } },
      );
    }
    const x1 = clamp01((data[o] ?? 0) * sx);
    const y1 = clamp01((data[o + 1] ?? 0) * sy);
    const x2 = clamp01((data[o + 2] ?? 0) * sx);
    const y2 = clamp01((data[o + 3] ?? 0) * sy);
    if (!(x2 > x1 && y2 > y1)) continue; // empty or inverted box
    candidates.push({ x1, y1, x2, y2, score: Math.min(1, score), classIndex: cls });
  }
  return toDetections(nonMaxSuppression(candidates, output.iouThreshold, output.maxInstances), labels);
}

/** Kept boxes (corners normalised to the input) -> instances and per-class best labels. Pure. */
export function toDetections(kept: readonly ScoredBox[], labels: readonly string[]): Detections {
  const instances: Instance[] = kept.map((b) => ({
    label: labels[b.classIndex] ?? String(b.classIndex),
    confidence: b.score,
    box: { x: b.x1, y: b.y1, width: b.x2 - b.x1, height: b.y2 - b.y1 },
  }));
  const best = new Map<string, number>();
  for (const i of instances) if (!best.has(i.label)) best.set(i.label, i.confidence);
  const labelScores = [...best].map(([name, confidence]) => ({ name, confidence }));
  return { labels: labelScores, instances };
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
