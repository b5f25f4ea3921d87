// Baseline: what a Node developer would pick for moderation: nsfwjs (MobileNetV2) on @tensorflow/tfjs, with the
// wasm backend (shipped inside its npm package) or, failing that, the pure-JS CPU backend.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as nsfwjs from 'nsfwjs';
import sharp from 'sharp';
import { PhaseMeter } from '../metrics.ts';
import type { ChildResult, VariantSpec } from '../protocol.ts';
import { childResult, loadImages, reason, runBounded } from './common.ts';

/** nsfwjs's MobileNetV2 input size. */
const SIZE = 224;
/**
 * Images in flight: 2 lets sharp decode the next image on libuv's pool while tfjs runs the current one on the
 * main thread (tfjs itself is single-threaded here), which is as fast as this design goes.
 */
const IN_FLIGHT = 2;

async function pickBackend(wanted: 'wasm' | 'cpu', notes: string[]): Promise<void> {
  if (wanted === 'wasm') {
    try {
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return;
      }
    } catch (err) {
      notes.push(`wasm backend unavailable (${reason(err)})`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
}

/**
 * Decodes and resizes with sharp (what a Node developer has at hand; faster than tfjs's own resize, so this
 * favours the baseline), then classifies with nsfwjs.
 */
async function classifyOne(model: nsfwjs.NSFWJS, bytes: Uint8Array): Promise<void> {
  const { data, info } = await sharp(bytes)
    .autoOrient()
    .resize(SIZE, SIZE, { fit: 'fill' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const input = tf.tensor3d(new Int32Array(data), [info.height, info.width, 3], 'int32');
  try {
    const predictions = await model.classify(input);
    if (predictions.length === 0) throw new Error('nsfwjs returned no predictions');
  } finally {
    input.dispose();
  }
}

export async function runNsfwjs(spec: VariantSpec): Promise<ChildResult> {
  const notes: string[] = [];
  await pickBackend(spec.nsfwjsBackend, notes);
  const model = await nsfwjs.load('MobileNetV2');
  const backend = tf.getBackend();
  notes.push(
    `tfjs backend: ${backend}${backend === 'wasm' ? ` (simd: ${String(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))}, threads: ${String(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'))})` : ''}`,
  );
  notes.push('model: nsfwjs MobileNetV2 only (sharp decode + resize to 224x224)');

  const warm = await loadImages(spec.warmup);
  for (let i = 0; i < warm.count; i++) await classifyOne(model, await warm.bytes(i));
  const source = await loadImages(spec.images);

  const meter = new PhaseMeter(source.count, spec.loopResolutionMs);
  meter.start();
  const failed = await runBounded(
    source.count,
    IN_FLIGHT,
    async (i) => classifyOne(model, await source.bytes(i)),
    (done) => meter.progress(done),
    (err, i) => {
      if (notes.length < 8) notes.push(`image ${i} failed: ${reason(err)}`);
    },
  );
  const phase = meter.stop();
  model.dispose();
  return childResult(spec, phase, {
    failed,
    stalled: null,
    lockErrors: null,
    settings: { poolThreads: 1, intraOpThreads: 1, concurrency: IN_FLIGHT },
    notes,
  });
}
