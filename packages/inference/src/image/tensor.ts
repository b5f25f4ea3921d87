import type { ModelManifest } from '@labelq/models';

type InputSpec = ModelManifest['input'];

/**
 * Builds the model's Float32 input tensor from resized 8-bit RGB pixels (row-major, interleaved, exactly
 * `input.width * input.height * 3` bytes). Pure.
 *
 * Each value is `(p * scale - mean[c]) / std[c]`, where `c` indexes the TENSOR's channels, i.e. after
 * `channelOrder` is applied: for a BGR model, `mean[0]` is the blue mean. The result has dims `[1, 3, H, W]`
 * (NCHW) or `[1, H, W, 3]` (NHWC).
 */
export function pixelsToTensor(rgb: Uint8Array, input: InputSpec): { data: Float32Array; dims: number[] } {
  const { width, height, scale, mean, std } = input;
  const plane = width * height;
  if (rgb.length !== plane * 3) {
    throw new Error(
      `pixelsToTensor: expected ${plane * 3} bytes for ${width}x${height}x3, got ${rgb.length}`,
    );
  }
  // Source channel (in RGB pixels) for each tensor channel.
  const src = input.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  // Fold normalisation into one multiply-add per value: p * a[c] + b[c].
  const a = [0, 1, 2].map((c) => scale / std[c]!);
  const b = [0, 1, 2].map((c) => -mean[c]! / std[c]!);
  const out = new Float32Array(plane * 3);
  if (input.layout === 'NCHW') {
    for (let c = 0; c < 3; c++) {
      const s = src[c]!;
      const ac = a[c]!;
      const bc = b[c]!;
      const base = c * plane;
      for (let i = 0; i < plane; i++) out[base + i] = rgb[i * 3 + s]! * ac + bc;
    }
    return { data: out, dims: [1, 3, height, width] };
  }
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = rgb[i * 3 + src[c]!]! * a[c]! + b[c]!;
  }
  return { data: out, dims: [1, height, width, 3] };
}
