import { z } from 'zod';

/** How pixels become the model's input tensor: value = (pixel / 255 * scale... see `normalize`). */
const inputSchema = z.object({
  /** Name of the ONNX input; default: the model's first input. */
  name: z.string().optional(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  layout: z.enum(['NCHW', 'NHWC']),
  channelOrder: z.enum(['RGB', 'BGR']).default('RGB'),
  /**
   * Per-channel normalisation applied to 8-bit pixel values p (0..255): (p * scale - mean[c]) / std[c].
   * [0,1] input is `scale: 1/255, mean: [0,0,0], std: [1,1,1]`; ImageNet is scale 1/255 with its mean/std.
   */
  scale: z.number().positive(),
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0, 0, 0]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([1, 1, 1]),
  /** sharp's resize fit: 'fill' stretches, 'cover' crops the centre, 'contain' letterboxes. */
  fit: z.enum(['fill', 'cover', 'contain']).default('fill'),
  /** sharp's resize kernel. */
  kernel: z.enum(['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']).default('linear'),
  /**
   * The pixel box (resized with `fit`) whose detail this model uses, when it is larger than the tensor's
   * `width` x `height`: e.g. a dynamic-shape OCR model that reads up to 1280 px on the long side sets
   * `{ width: 1280, height: 1280 }` with `fit: 'contain'`. The worker decodes each image once, shrinking on
   * load to the smallest size that still serves every requested model, so this must not understate what the
   * model reads. Default: the tensor's `width` x `height`.
   */
  decodeSize: z
    .object({ width: z.number().int().positive(), height: z.number().int().positive() })
    .optional(),
});

const classifyOutputSchema = z.object({
  /** Name of the ONNX output holding the class scores; default: the model's first output. */
  name: z.string().optional(),
  /** 'softmax'/'sigmoid' turn logits into confidences; 'none' when the graph already ends in probabilities. */
  activation: z.enum(['softmax', 'sigmoid', 'none']),
});

const nanodetOutputSchema = z.object({
  /** NanoDet-style heads: per stride, a [1, N, classes] score output and a [1, N, 4*(regMax+1)] box output. */
  decoder: z.literal('nanodet'),
  strides: z.array(z.object({ stride: z.number().int().positive(), scores: z.string(), boxes: z.string() })),
  /** Bins per box side minus one (the distribution-focal-loss head). */
  regMax: z.number().int().positive(),
  scoreActivation: z.enum(['sigmoid', 'none']).default('none'),
  /** Instances below this score are dropped before NMS. */
  scoreThreshold: z.number().min(0).max(1),
  /** Boxes of the same class overlapping more than this IoU are suppressed. */
  iouThreshold: z.number().min(0).max(1),
  /** Most instances reported per image after NMS. */
  maxInstances: z.number().int().positive().default(100),
});

const centernetOutputSchema = z.object({
  /**
   * Detectors that pick their candidates in-graph (CenterNet, most exported SSD/YOLO graphs with NMS cut off):
   * one output of shape [1, N, 6] or [N, 6], each row `x1, y1, x2, y2, score, class index`.
   */
  decoder: z.literal('centernet'),
  /** Name of that output; default: the model's first output. */
  name: z.string().optional(),
  /** Units of x1..y2: pixels of the model input (default) or fractions of it ('normalized'). */
  boxUnits: z.enum(['pixels', 'normalized']).default('pixels'),
  /** Rows below this score are dropped before NMS. */
  scoreThreshold: z.number().min(0).max(1),
  /** Boxes of the same class overlapping more than this IoU are suppressed. Default 0.5. */
  iouThreshold: z.number().min(0).max(1).default(0.5),
  /** Most instances reported per image after NMS. Default 100. */
  maxInstances: z.number().int().positive().default(100),
});

const detectOutputSchema = z.discriminatedUnion('decoder', [nanodetOutputSchema, centernetOutputSchema]);

const facesOutputSchema = z.object({
  /**
   * BlazeFace-style single-shot face detector: per head, anchors on a grid of `stride`-pixel cells
   * (`anchorsPerCell` per cell, centred at (col + 0.5, row + 0.5) * stride), a [1, N, 1] score output and a
   * [1, N, >=4] regressor output (dx, dy, w, h in input pixels relative to the anchor centre, then keypoints).
   */
  decoder: z.literal('blazeface'),
  heads: z
    .array(
      z.object({
        stride: z.number().int().positive(),
        anchorsPerCell: z.number().int().positive(),
        scores: z.string(),
        boxes: z.string(),
      }),
    )
    .min(1),
  scoreActivation: z.enum(['sigmoid', 'none']).default('sigmoid'),
  /** Faces below this confidence are not reported. */
  scoreThreshold: z.number().min(0).max(1),
  /** Overlapping faces above this IoU are merged into the best one. Default 0.3. */
  iouThreshold: z.number().min(0).max(1).default(0.3),
  /** Most faces reported per image. Default 100. */
  maxFaces: z.number().int().positive().default(100),
});

const sidecarFile = z.object({
  /** A file beside the manifest (plain name). */
  file: z.string().regex(/^[^/\\]+$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const textOutputSchema = z.object({
  /**
   * PaddleOCR-style two-stage OCR (PP-OCRv4): the manifest's model is the text DETECTOR (a [1, 1, H, W]
   * probability map, DB head); `recognizer` is the line RECOGNISER run on each detected line. For `text`
   * manifests `input.width`/`input.height` are the longest side the detector sees (the image is scaled to fit,
   * each side rounded to a multiple of 32).
   */
  decoder: z.literal('ppocr'),
  /** The detector's probability-map output; default: the first output. */
  name: z.string().optional(),
  recognizer: sidecarFile.extend({
    /** Line height the recogniser takes. Default 48. */
    height: z.number().int().positive().default(48),
    /** Widest line crop fed to it, pixels (longer lines are squeezed). Default 1280. */
    maxWidth: z.number().int().positive().default(1280),
  }),
  /**
   * The recogniser's characters, one per line: output index 0 is the CTC blank, 1..n the file's lines, n+1 a
   * space.
   */
  dictionary: sidecarFile,
  /** Probability-map pixels above this are text. Default 0.3. */
  binaryThreshold: z.number().min(0).max(1).default(0.3),
  /** A region is a line when its mean probability reaches this. Default 0.6. */
  boxThreshold: z.number().min(0).max(1).default(0.6),
  /** Each box grows by area x unclipRatio / perimeter on every side (DB shrinks its regions). Default 1.5. */
  unclipRatio: z.number().positive().default(1.5),
  /** Lines whose recognition confidence is below this are dropped. Default 0.5. */
  minLineConfidence: z.number().min(0).max(1).default(0.5),
  /** Most lines read per image (largest first). Default 50. */
  maxLines: z.number().int().positive().default(50),
});

const base = {
  /** Manifest format version. */
  schemaVersion: z.literal(1),
  /** Stable model id used in requests (`models=`) and results, e.g. `nsfw-mobilenet-v2`. */
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
  version: z.string().min(1),
  description: z.string().default(''),
  /** The .onnx file, relative to the manifest. */
  file: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  source: z.string().min(1),
  license: z.string().min(1),
  input: inputSchema,
  /**
   * Run only when a request (or tenant) names the model, never as part of "every loaded model". For slow
   * models such as OCR. Default false.
   */
  optIn: z.boolean().default(false),
  labels: z.array(z.string().min(1)).min(1),
  defaults: z
    .object({
      /** Most labels reported per image. Default 5. */
      topK: z.number().int().positive().default(5),
      /** Labels below this confidence are dropped. Default 0. */
      minConfidence: z.number().min(0).max(1).default(0),
    })
    .default({ topK: 5, minConfidence: 0 }),
};

export const manifestSchema = z.discriminatedUnion('task', [
  z.object({ ...base, task: z.literal('classify'), output: classifyOutputSchema }),
  z.object({ ...base, task: z.literal('detect'), output: detectOutputSchema }),
  z.object({ ...base, task: z.literal('faces'), output: facesOutputSchema }),
  z.object({ ...base, task: z.literal('text'), output: textOutputSchema }),
]);

export type ModelManifest = z.infer<typeof manifestSchema>;
export type ClassifyManifest = Extract<ModelManifest, { task: 'classify' }>;
export type DetectManifest = Extract<ModelManifest, { task: 'detect' }>;
type WithOutput<M extends { output: unknown }, O> = Omit<M, 'output'> & { output: O };
export type NanodetManifest = WithOutput<
  DetectManifest,
  Extract<DetectManifest['output'], { decoder: 'nanodet' }>
>;
export type CenternetManifest = WithOutput<
  DetectManifest,
  Extract<DetectManifest['output'], { decoder: 'centernet' }>
>;
export type TextManifest = Extract<ModelManifest, { task: 'text' }>;
export type FacesManifest = Extract<ModelManifest, { task: 'faces' }>;
/** The tasks a manifest can declare; each has its own result shape in the contracts. */
export type ModelTask = ModelManifest['task'];
export type ManifestInput = z.input<typeof manifestSchema>;
