// Image properties from already-decoded pixels: perceptual hash, dominant colours, brightness, sharpness. Every
// measure reads a bounded grid of point samples (at most GRID_LONG_SIDE on the long side), so the cost does not
// grow with the image: ~0.2 ms for any size (`pnpm bench:properties`), next to tens of ms for the models.
import type { DominantColour, ImageProperties } from '@labelq/contracts';

/** The sample grid's long side: the resolution sharpness is judged at, and what the hash and colours read. */
export const GRID_LONG_SIDE = 256;
/** pHash: DCT of a HASH_SIZE x HASH_SIZE grey thumbnail, of which the 8x8 lowest frequencies (DC excluded). */
const HASH_SIZE = 32;
const MAX_COLOURS = 5;
/** Colours below this share of the pixels are not worth naming. */
const MIN_COLOUR_SHARE = 0.03;

/** Raw pixels as the decoder hands them over: 8-bit, `channels` interleaved (RGB first). */
export interface PixelsView {
  data: Uint8Array;
  width: number;
  height: number;
  /** Bytes per pixel. Default 3. */
  channels?: number;
}

/** cos((2x + 1) u pi / 2N) for u in 0..8, x in 0..N-1: the DCT-II basis rows the hash needs. */
const DCT = (() => {
  const table = new Float64Array(9 * HASH_SIZE);
  for (let u = 0; u < 9; u++)
    for (let x = 0; x < HASH_SIZE; x++)
      table[u * HASH_SIZE + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * HASH_SIZE));
  return table;
})();

/** Computes {@link ImageProperties} (version 1) from decoded pixels. Pure; never throws for a non-empty image. */
export function imageProperties(image: PixelsView): ImageProperties {
  const channels = image.channels ?? 3;
  const { width, height } = image;
  // A plain Uint8Array view: element access on Buffer (a subclass) is markedly slower in V8's hot loops.
  const data = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const scale = Math.min(1, GRID_LONG_SIDE / Math.max(width, height));
  const gw = Math.max(1, Math.round(width * scale));
  const gh = Math.max(1, Math.round(height * scale));
  const n = gw * gh;
  const luma = new Float32Array(n);
  let lumaSum = 0;
  // Point samples at the centres of the grid cells: luma only, the one thing read at full grid resolution.
  const xs = new Int32Array(gw);
  for (let gx = 0; gx < gw; gx++)
    xs[gx] = Math.min(width - 1, Math.floor(((gx + 0.5) * width) / gw)) * channels;
  const rows = new Int32Array(gh);
  for (let gy = 0; gy < gh; gy++)
    rows[gy] = Math.min(height - 1, Math.floor(((gy + 0.5) * height) / gh)) * width * channels;
  for (let gy = 0; gy < gh; gy++) {
    const row = rows[gy]!;
    const out = gy * gw;
    for (let gx = 0; gx < gw; gx++) {
      const o = row + xs[gx]!;
      const y = 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]!;
      luma[out + gx] = y;
      lumaSum += y;
    }
  }
  return {
    v: 1,
    phash: perceptualHash(luma, gw, gh),
    colours: dominantColours(data, xs, rows),
    brightness: round(lumaSum / n / 255, 4),
    sharpness: round(laplacianVariance(luma, gw, gh), 2),
  };
}

/**
 * pHash of the luma grid: a 32x32 thumbnail (each cell the mean of 2x2 grid samples), its 2-D DCT, and the signs
 * of the 8x8 lowest frequencies after the DC row and column against their median (pHash.org's choice: the DC
 * terms follow overall brightness, not content).
 */
function perceptualHash(luma: Float32Array, gw: number, gh: number): string {
  const thumb = new Float64Array(HASH_SIZE * HASH_SIZE);
  const side = HASH_SIZE * 2;
  for (let ty = 0; ty < HASH_SIZE; ty++)
    for (let tx = 0; tx < HASH_SIZE; tx++) {
      let sum = 0;
      for (let dy = 0; dy < 2; dy++) {
        const gy = Math.min(gh - 1, Math.floor(((ty * 2 + dy + 0.5) * gh) / side));
        for (let dx = 0; dx < 2; dx++) {
          const gx = Math.min(gw - 1, Math.floor(((tx * 2 + dx + 0.5) * gw) / side));
          sum += luma[gy * gw + gx]!;
        }
      }
      thumb[ty * HASH_SIZE + tx] = sum / 4;
    }
  // Rows first (9 frequencies per row), then columns: 32*9*32 + 9*9*32 multiplications.
  const rows = new Float64Array(HASH_SIZE * 9);
  for (let y = 0; y < HASH_SIZE; y++)
    for (let u = 0; u < 9; u++) {
      let s = 0;
      for (let x = 0; x < HASH_SIZE; x++) s += thumb[y * HASH_SIZE + x]! * DCT[u * HASH_SIZE + x]!;
      rows[y * 9 + u] = s;
    }
  const coeffs = new Float64Array(64);
  for (let v = 1; v < 9; v++)
    for (let u = 1; u < 9; u++) {
      let s = 0;
      for (let y = 0; y < HASH_SIZE; y++) s += rows[y * 9 + u]! * DCT[v * HASH_SIZE + y]!;
      coeffs[(v - 1) * 8 + (u - 1)] = s;
    }
  const sorted = Float64Array.from(coeffs).sort();
  const median = (sorted[31]! + sorted[32]!) / 2;
  let hex = '';
  for (let nibble = 0; nibble < 16; nibble++) {
    let value = 0;
    for (let bit = 0; bit < 4; bit++) value = (value << 1) | (coeffs[nibble * 4 + bit]! > median ? 1 : 0);
    hex += value.toString(16);
  }
  return hex;
}

/** Variance of the 4-neighbour Laplacian over the grid's interior (0 for grids under 3x3). */
function laplacianVariance(luma: Float32Array, gw: number, gh: number): number {
  if (gw < 3 || gh < 3) return 0;
  let sum = 0;
  let sumSq = 0;
  for (let y = 1; y < gh - 1; y++)
    for (let x = 1; x < gw - 1; x++) {
      const i = y * gw + x;
      const l = luma[i - 1]! + luma[i + 1]! + luma[i - gw]! + luma[i + gw]! - 4 * luma[i]!;
      sum += l;
      sumSq += l * l;
    }
  const count = (gw - 2) * (gh - 2);
  const mean = sum / count;
  return Math.max(0, sumSq / count - mean * mean);
}

/**
 * The largest of 64 colour bins (4 levels per channel: coarse enough that shades of one colour fall together)
 * over a 64x64 sub-grid of the samples, each named by its mean colour.
 */
function dominantColours(data: Uint8Array, xs: Int32Array, rows: Int32Array): DominantColour[] {
  const bins = new Uint32Array(64);
  const sums = new Float64Array(64 * 3);
  const stepX = Math.max(1, Math.floor(xs.length / 64));
  const stepY = Math.max(1, Math.floor(rows.length / 64));
  let n = 0;
  for (let gy = 0; gy < rows.length; gy += stepY)
    for (let gx = 0; gx < xs.length; gx += stepX) {
      const o = rows[gy]! + xs[gx]!;
      const r = data[o]!;
      const g = data[o + 1]!;
      const b = data[o + 2]!;
      const bin = ((r >> 6) << 4) | ((g >> 6) << 2) | (b >> 6);
      bins[bin] = bins[bin]! + 1;
      const k = bin * 3;
      sums[k] = sums[k]! + r;
      sums[k + 1] = sums[k + 1]! + g;
      sums[k + 2] = sums[k + 2]! + b;
      n++;
    }
  const order = [...bins.keys()].filter((b) => bins[b]! / n >= MIN_COLOUR_SHARE);
  order.sort((a, b) => bins[b]! - bins[a]!);
  return order.slice(0, MAX_COLOURS).map((b) => {
    const count = bins[b]!;
    const hex = [0, 1, 2]
      .map((c) =>
        Math.round(sums[b * 3 + c]! / count)
          .toString(16)
          .padStart(2, '0'),
      )
      .join('');
    return { hex: `#${hex}`, share: round(count / n, 4) };
  });
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Hamming distance of two hex perceptual hashes. */
export function hashDistance(a: string, b: string): number {
  let x = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let bits = 0;
  while (x > 0n) {
    bits += Number(x & 1n);
    x >>= 1n;
  }
  return bits;
}
