import * as ort from 'onnxruntime-node';
import { LabelqError } from '@labelq/errors';
import type { ModelManifest } from '@labelq/models';
import type { ModelResult } from '@labelq/contracts';
import type { DecodedImage } from '../image/decode.ts';
import { resizeForModel } from '../image/resize.ts';
import { pixelsToTensor } from '../image/tensor.ts';
import { activate, topLabels } from '../postprocess/classify.ts';
import { decodeBlazeface } from '../postprocess/blazeface.ts';
import { detect, toImageBox } from '../postprocess/detect.ts';
import { loadRecognizer, runText, type TextRecognizer } from './run-text.ts';

/** One loaded model in one thread: its session is created once and reused for every image. */
export interface ThreadModel {
  manifest: ModelManifest;
  session: ort.InferenceSession;
  /** `text` models: the line recogniser run after the detector. */
  recognizer?: TextRecognizer;
}

export interface SessionOptions {
  intraOpThreads: number;
}

/** Creates the model's session; `inference_failed` (not retryable) when onnxruntime rejects the file. */
export async function createThreadModel(
  manifest: ModelManifest,
  path: string,
  options: SessionOptions,
): Promise<ThreadModel> {
  try {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      intraOpNumThreads: options.intraOpThreads,
      // One graph branch at a time: parallelism comes from pool threads, not inside a session.
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    };
    const session = await ort.InferenceSession.create(path, sessionOptions);
    const inputName = manifest.input.name ?? session.inputNames[0];
    if (inputName === undefined || !session.inputNames.includes(inputName)) {
      throw new Error(`input "${inputName}" not in the graph (${session.inputNames.join(', ')})`);
    }
    if (manifest.task === 'text') {
      return { manifest, session, recognizer: await loadRecognizer(manifest, path, sessionOptions) };
    }
    return { manifest, session };
  } catch (err) {
    throw new LabelqError(
      'model_load_failed',
      `Model ${manifest.name} (${path}) cannot be loaded: ${String(err)}`,
      {
        cause: err,
        details: { model: manifest.name },
      },
    );
  }
}

export interface RunOptions {
  topK: number | undefined;
  minConfidence: number | undefined;
}

/** Resize -> tensor -> ORT -> postprocess for one model on an already decoded image. */
export async function runModel(
  model: ThreadModel,
  image: DecodedImage,
  options: RunOptions,
): Promise<ModelResult> {
  const { manifest, session } = model;
  const ref = { name: manifest.name, version: manifest.version, sha256: manifest.sha256 };
  if (manifest.task === 'text') {
    if (model.recognizer === undefined) throw new Error(`text model ${manifest.name} has no recogniser`);
    return { task: 'text', model: ref, lines: await runText(manifest, session, model.recognizer, image) };
  }
  const { pixels, content } = await resizeForModel(image, manifest.input);
  const { data, dims } = pixelsToTensor(pixels, manifest.input);
  const inputName = manifest.input.name ?? session.inputNames[0]!;
  let outputs: ort.InferenceSession.OnnxValueMapType;
  try {
    outputs = await session.run({ [inputName]: new ort.Tensor('float32', data, dims) });
  } catch (err) {
    throw new LabelqError('inference_failed', `Model ${manifest.name} failed: ${String(err)}`, {
      cause: err,
      details: { model: manifest.name },
    });
  }
  const topK = options.topK ?? manifest.defaults.topK;
  const minConfidence = options.minConfidence ?? manifest.defaults.minConfidence;

  switch (manifest.task) {
    case 'classify': {
      const outputName = manifest.output.name ?? session.outputNames[0]!;
      const tensor = outputs[outputName];
      if (tensor === undefined) {
        throw new LabelqError('model_output_invalid', `Model ${manifest.name} has no output "${outputName}"`);
      }
      const confidences = activate(tensor.data as Float32Array, manifest.output.activation);
      assertFinite(confidences, manifest.name);
      return {
        task: 'classify',
        model: ref,
        labels: topLabels(confidences, manifest.labels, topK, minConfidence),
      };
    }
    case 'detect': {
      const { labels, instances } = detect(outputs, manifest, content, {
        topK,
        minConfidence,
        firstOutput: session.outputNames[0],
      });
      return { task: 'detect', model: ref, labels, instances };
    }
    case 'faces': {
      // Faces have their own calibrated threshold (the manifest's); topK/minConfidence are label options.
      const faces = decodeBlazeface(outputs, manifest).flatMap((f) => {
        const box = toImageBox(f.box, manifest.input, content);
        return box === undefined ? [] : [{ confidence: f.confidence, box }];
      });
      return { task: 'faces', model: ref, count: faces.length, faces };
    }
  }
}

function assertFinite(values: readonly number[], model: string): void {
  if (values.some((v) => !Number.isFinite(v))) {
    throw new LabelqError('model_output_invalid', `Model ${model} produced non-finite scores`, {
      details: { model },
    });
  }
}
