import type { DetectManifest } from '@labelq/models';
import type { Instance, LabelScore } from '@labelq/contracts';
import type { ContentRect } from '../image/resize.ts';
import { decodeNanodet, type NanodetOutput } from './nanodet.ts';

/**
 * Detector postprocessing: runs the manifest's decoder (boxes normalised to the model INPUT), maps boxes back
 * into the original image (undoing letterbox/crop from `fit`), clips them to [0, 1], drops instances and labels
 * below `minConfidence` and keeps the `topK` best labels (each label's confidence is its best instance). Pure.
 */
export function detect(
  outputs: Record<string, NanodetOutput>,
  manifest: DetectManifest,
  content: ContentRect,
  options: { topK: number; minConfidence: number },
): { labels: LabelScore[]; instances: Instance[] } {
  const decoded = decodeNanodet(outputs, manifest);
  const W = manifest.input.width;
  const H = manifest.input.height;
  const instances: Instance[] = [];
  for (const inst of decoded.instances) {
    if (inst.confidence < options.minConfidence) continue;
    // Model-input pixels -> original-image fraction.
    const x0 = clip01((inst.box.x * W - content.x) / content.width);
    const y0 = clip01((inst.box.y * H - content.y) / content.height);
    const x1 = clip01(((inst.box.x + inst.box.width) * W - content.x) / content.width);
    const y1 = clip01(((inst.box.y + inst.box.height) * H - content.y) / content.height);
    if (x1 <= x0 || y1 <= y0) continue; // entirely inside the letterbox padding
    instances.push({
      label: inst.label,
      confidence: inst.confidence,
      box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 },
    });
  }
  const best = new Map<string, number>();
  for (const inst of instances) best.set(inst.label, Math.max(best.get(inst.label) ?? 0, inst.confidence));
  const labels = [...best]
    .map(([name, confidence]) => ({ name, confidence }))
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, options.topK);
  return { labels, instances };
}

function clip01(v: number): number {
  return Math.min(1, Math.max(0, v));
}
