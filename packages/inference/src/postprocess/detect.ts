import type { DetectManifest, ModelManifest, NanodetManifest, CenternetManifest } from '@labelq/models';
import type { Box, Instance, LabelScore } from '@labelq/contracts';
import type { ContentRect } from '../image/resize.ts';
import { decodeCenternet } from './centernet.ts';
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
  options: { topK: number; minConfidence: number; firstOutput?: string },
): { labels: LabelScore[]; instances: Instance[] } {
  const decoded =
    manifest.output.decoder === 'nanodet'
      ? decodeNanodet(outputs, manifest as NanodetManifest)
      : decodeCenternet(
          outputs,
          manifest as CenternetManifest,
          manifest.output.name ?? options.firstOutput ?? Object.keys(outputs)[0] ?? '',
        );
  const instances: Instance[] = [];
  for (const inst of decoded.instances) {
    if (inst.confidence < options.minConfidence) continue;
    const box = toImageBox(inst.box, manifest.input, content);
    if (box === undefined) continue; // entirely inside the letterbox padding
    instances.push({ label: inst.label, confidence: inst.confidence, box });
  }
  const best = new Map<string, number>();
  for (const inst of instances) best.set(inst.label, Math.max(best.get(inst.label) ?? 0, inst.confidence));
  const labels = [...best]
    .map(([name, confidence]) => ({ name, confidence }))
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, options.topK);
  return { labels, instances };
}

/**
 * A box normalised to the model input -> normalised to the original image (undoing the letterbox or crop of
 * `fit`), clipped to [0, 1]; undefined when nothing of it lies on the image. Pure.
 */
export function toImageBox(box: Box, input: ModelManifest['input'], content: ContentRect): Box | undefined {
  const W = input.width;
  const H = input.height;
  const x0 = clip01((box.x * W - content.x) / content.width);
  const y0 = clip01((box.y * H - content.y) / content.height);
  const x1 = clip01(((box.x + box.width) * W - content.x) / content.width);
  const y1 = clip01(((box.y + box.height) * H - content.y) / content.height);
  if (x1 <= x0 || y1 <= y0) return undefined;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

function clip01(v: number): number {
  return Math.min(1, Math.max(0, v));
}
