import { LabelqError } from '@labelq/errors';
import type { FacesManifest } from '@labelq/models';
import type { Face } from '@labelq/contracts';
import type { NanodetOutput } from './nanodet.ts';
import { nonMaxSuppression, type ScoredBox } from './nms.ts';

/** Anchor centres in input pixels, head by head, row-major, `anchorsPerCell` per cell. Pure. */
export function blazefaceAnchors(
  heads: FacesManifest['output']['heads'],
  width: number,
  height: number,
): Float32Array[] {
  return heads.map(({ stride, anchorsPerCell }) => {
    const cols = Math.ceil(width / stride);
    const rows = Math.ceil(height / stride);
    const out = new Float32Array(cols * rows * anchorsPerCell * 2);
    let k = 0;
    for (let row = 0; row < rows; row++) {
      for (let col = 0; col < cols; col++) {
        for (let a = 0; a < anchorsPerCell; a++) {
          out[k++] = (col + 0.5) * stride;
          out[k++] = (row + 0.5) * stride;
        }
      }
    }
    return out;
  });
}

/**
 * Decodes BlazeFace heads: per anchor a score logit and a regressor row `dx, dy, w, h, ...keypoints` in input
 * pixels; the face box is centred at anchor + (dx, dy) with size w x h. Faces scoring at least
 * `scoreThreshold` are merged by NMS (class-agnostic), highest first, at most `maxFaces`. Boxes are normalised
 * to the model input and clipped to [0, 1]. Pure.
 *
 * Throws `manifest_invalid` when a named output is missing or its shape does not match the head's anchors.
 */
export function decodeBlazeface(outputs: Record<string, NanodetOutput>, manifest: FacesManifest): Face[] {
  const { output, input } = manifest;
  const anchors = blazefaceAnchors(output.heads, input.width, input.height);
  const candidates: ScoredBox[] = [];
  output.heads.forEach((head, h) => {
    const centres = anchors[h]!;
    const n = centres.length / 2;
    const scores = tensor(outputs, head.scores, manifest, n, 1);
    const boxes = tensor(outputs, head.boxes, manifest, n, 4);
    const width = boxes.length / n;
    for (let i = 0; i < n; i++) {
      const raw = scores[i] ?? NaN;
      const score = output.scoreActivation === 'sigmoid' ? 1 / (1 + Math.exp(-raw)) : raw;
      if (!(score >= output.scoreThreshold)) continue;
      const o = i * width;
      const cx = centres[i * 2]! + (boxes[o] ?? 0);
      const cy = centres[i * 2 + 1]! + (boxes[o + 1] ?? 0);
      const w = boxes[o + 2] ?? 0;
      const hgt = boxes[o + 3] ?? 0;
      if (!(w > 0 && hgt > 0)) continue;
      const x1 = clamp01((cx - w / 2) / input.width);
      const y1 = clamp01((cy - hgt / 2) / input.height);
      const x2 = clamp01((cx + w / 2) / input.width);
      const y2 = clamp01((cy + hgt / 2) / input.height);
      if (!(x2 > x1 && y2 > y1)) continue;
      candidates.push({ x1, y1, x2, y2, score: Math.min(1, score), classIndex: 0 });
    }
  });
  return nonMaxSuppression(candidates, output.iouThreshold, output.maxFaces).map((b) => ({
    confidence: b.score,
    box: { x: b.x1, y: b.y1, width: b.x2 - b.x1, height: b.y2 - b.y1 },
  }));
}

/** The output's data, checked to be [1, n, k] (or [n, k]) floats with k >= minWidth. */
function tensor(
  outputs: Record<string, NanodetOutput>,
  name: string,
  manifest: FacesManifest,
  n: number,
  minWidth: number,
): ArrayLike<number> {
  const t = outputs[name];
  const fail = (why: string): never => {
    throw new LabelqError('manifest_invalid', `model ${manifest.name}: output '${name}' ${why}`, {
      details: { model: manifest.name, output: name },
    });
  };
  if (!t) return fail('is missing');
  const dims = t.dims.length === 3 && t.dims[0] === 1 ? t.dims.slice(1) : t.dims;
  if (dims.length !== 2 || dims[0] !== n || (dims[1] ?? 0) < minWidth) {
    fail(`has shape [${t.dims.join(', ')}], expected [1, ${n}, >=${minWidth}]`);
  }
  if (!(t.data instanceof Float32Array) && !Array.isArray(t.data)) fail('is not float32');
  return t.data as ArrayLike<number>;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
