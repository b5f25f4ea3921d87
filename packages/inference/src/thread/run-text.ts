import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { LabelqError } from '@labelq/errors';
import type { TextManifest } from '@labelq/models';
import type { TextLine } from '@labelq/contracts';
import type { DecodedImage } from '../image/decode.ts';
import { pixelsToTensor } from '../image/tensor.ts';
import { ctcGreedy, findTextBoxes, textInputSize } from '../postprocess/ppocr.ts';

/** The OCR recogniser and its characters, loaded beside the detector. */
export interface TextRecognizer {
  session: ort.InferenceSession;
  dictionary: string[];
}

/** Loads the manifest's recogniser (ONNX) and dictionary from the detector's folder. */
export async function loadRecognizer(
  manifest: TextManifest,
  detectorPath: string,
  sessionOptions: ort.InferenceSession.SessionOptions,
): Promise<TextRecognizer> {
  const dir = dirname(detectorPath);
  const session = await ort.InferenceSession.create(
    join(dir, manifest.output.recognizer.file),
    sessionOptions,
  );
  const text = await readFile(join(dir, manifest.output.dictionary.file), 'utf8');
  const dictionary = text.split(/\r?\n/);
  if (dictionary.at(-1) === '') dictionary.pop();
  return { session, dictionary };
}

// (p / 255 - 0.5) / 0.5 on BGR, as PaddleOCR's recogniser was trained.
const RECOGNIZER_INPUT: Omit<TextManifest['input'], 'width' | 'height'> = {
  layout: 'NCHW',
  channelOrder: 'BGR',
  scale: 2 / 255,
  mean: [1, 1, 1],
  std: [1, 1, 1],
  fit: 'fill',
  kernel: 'linear',
};

async function run(session: ort.InferenceSession, x: ort.Tensor, model: string): Promise<ort.Tensor> {
  try {
    const out = await session.run({ [session.inputNames[0]!]: x });
    return out[session.outputNames[0]!]!;
  } catch (err) {
    throw new LabelqError('inference_failed', `Model ${model} failed: ${String(err)}`, {
      cause: err,
      details: { model },
    });
  }
}

/**
 * Two-stage OCR on a decoded image: the detector finds line boxes on a copy scaled to at most
 * `input.width` on its longest side (multiples of 32); each line is cropped from the decoded pixels, scaled to
 * the recogniser's height and read with greedy CTC. Lines top to bottom, then left to right; boxes normalised
 * to the image.
 */
export async function runText(
  manifest: TextManifest,
  detector: ort.InferenceSession,
  recognizer: TextRecognizer,
  image: DecodedImage,
): Promise<TextLine[]> {
  const { output } = manifest;
  const size = textInputSize(
    image.width,
    image.height,
    Math.max(manifest.input.width, manifest.input.height),
  );
  const raw = { raw: { width: image.width, height: image.height, channels: 3 as const } };
  const pixels = await sharp(image.data, raw)
    .resize(size.width, size.height, { fit: 'fill', kernel: manifest.input.kernel })
    .raw()
    .toBuffer();
  const { data, dims } = pixelsToTensor(pixels, { ...manifest.input, ...size, layout: 'NCHW' });
  const map = await run(detector, new ort.Tensor('float32', data, dims), manifest.name);
  const [mh, mw] = [map.dims[2] ?? 0, map.dims[3] ?? 0];
  if (map.dims.length !== 4 || mh !== size.height || mw !== size.width) {
    throw new LabelqError(
      'model_output_invalid',
      `Model ${manifest.name}: detector output [${map.dims.join(', ')}] is not [1, 1, ${size.height}, ${size.width}]`,
      { details: { model: manifest.name } },
    );
  }
  const boxes = findTextBoxes(map.data as Float32Array, mw, mh, output).slice(0, output.maxLines);
  const sx = image.width / mw;
  const sy = image.height / mh;
  const lines: TextLine[] = [];
  for (const box of boxes) {
    const left = Math.max(0, Math.floor(box.x1 * sx));
    const top = Math.max(0, Math.floor(box.y1 * sy));
    const width = Math.min(image.width, Math.ceil(box.x2 * sx)) - left;
    const height = Math.min(image.height, Math.ceil(box.y2 * sy)) - top;
    if (width < 2 || height < 2) continue;
    const h = output.recognizer.height;
    const w = Math.min(output.recognizer.maxWidth, Math.max(h / 4, Math.round((h * width) / height)));
    const crop = await sharp(image.data, raw)
      .extract({ left, top, width, height })
      .resize(w, h, { fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer();
    const t = pixelsToTensor(crop, {
      ...RECOGNIZER_INPUT,
      width: w,
      height: h,
      fit: 'fill',
      kernel: 'linear',
    });
    const probs = await run(recognizer.session, new ort.Tensor('float32', t.data, t.dims), manifest.name);
    const [steps, classes] = [probs.dims[1] ?? 0, probs.dims[2] ?? 0];
    if (probs.dims.length !== 3 || classes !== recognizer.dictionary.length + 2) {
      throw new LabelqError(
        'manifest_invalid',
        `Model ${manifest.name}: recogniser output [${probs.dims.join(', ')}] does not fit a dictionary of ` +
          `${recognizer.dictionary.length} characters (+ blank + space)`,
        { details: { model: manifest.name } },
      );
    }
    const { text, confidence } = ctcGreedy(probs.data as Float32Array, steps, classes, recognizer.dictionary);
    if (text.trim() === '' || confidence < output.minLineConfidence) continue;
    lines.push({
      text: text.trim(),
      confidence: Math.min(1, confidence),
      box: {
        x: left / image.width,
        y: top / image.height,
        width: width / image.width,
        height: height / image.height,
      },
    });
  }
  // Reading order: rows (boxes whose vertical centres are within half a line of each other), left to right.
  return lines.sort((a, b) => {
    const dy = a.box.y + a.box.height / 2 - (b.box.y + b.box.height / 2);
    return Math.abs(dy) < Math.min(a.box.height, b.box.height) / 2 ? a.box.x - b.box.x : dy;
  });
}
