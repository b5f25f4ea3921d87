import type { DetectManifest, Instance, LabelScore } from '@labelq/models';
import type { ContentRect } from '../image/resize.ts';

// TEMPORARY: helper B's decoder (./nanodet.ts) is not in the tree yet; load it lazily so the classify path
// works without it. Switch to a static import once it lands.
type DecodeNanodet = (
  outputs: Record<string, OutputTensor>,
  manifest: DetectManifest,
) => { labels: LabelScore[]; instances: Instance[] };
let decoder: DecodeNanodet | undefined;
async function decodeNanodet(outputs: Record<string, OutputTensor>, manifest: DetectManifest) {
  const specifier = './nanodet.ts';
  decoder ??= ((await import(specifier)) as { decodeNanodet: DecodeNanodet }).decodeNanodet;
  return decoder(outputs, manifest);
}

/** The subset of an onnxruntime Tensor the decoders read. */
export interface OutputTensor {
  readonly dims: readonly number[];
  readonly data: unknown;
}

/**
 * Detector postprocessing: runs the manifest's decoder (boxes normalised to the model INPUT), maps boxes back
 * into the original image (undoing letterbox/crop from `fit`), clips them to [0, 1], drops instances and labels
 * below `minConfidence` and keeps the `topK` best labels (each label's confidence is its best instance). Pure.
 */
export async function detect(
  outputs: Record<string, OutputTensor>,
  manifest: DetectManifest,
  content: ContentRect,
  options: { topK: number; minConfidence: number },
): Promise<{ labels: LabelScore[]; instances: Instance[] }> {
  const decoded = await decodeNanodet(outputs, manifest);
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
