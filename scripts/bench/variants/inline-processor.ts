// A classify-job processor that does everything on the thread that calls it: S3 download, sharp decode, ORT, the
// result document and tags. The main-thread variant runs it on the worker's own main thread; the sandboxed
// variant runs one per BullMQ sandbox thread. It reuses the pool's own per-image code (decode, runModel), so
// the only difference from labelq's pipeline is where the work runs.
import { GetObjectCommand, PutObjectCommand, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import type { Config } from '@labelq/config';
import { LabelqError } from '@labelq/errors';
import type { ImageInfo } from '@labelq/inference';
import { loadModels, RESULT_SCHEMA_VERSION, type ModelResult } from '@labelq/models';
import type { ClassifyJobData } from '@labelq/queue';
import { decodeImage } from '../../../packages/inference/src/image/decode.ts';
import {
  createThreadModel,
  runModel,
  type ThreadModel,
} from '../../../packages/inference/src/thread/run-model.ts';

export interface InlineProcessor {
  models: ThreadModel[];
  /** Processes one job end to end; resolves with the number of labels written. */
  process(data: ClassifyJobData): Promise<number>;
  close(): void;
}

/** Characters S3 accepts in tag values. */
function tagValue(value: string): string {
  return value.replace(/[^A-Za-z0-9 +\-=._:/@]/g, '_').slice(0, 256);
}

function s3Client(config: Config): S3Client {
  return new S3Client({
    region: config.s3.region,
    forcePathStyle: config.s3.forcePathStyle,
    ...(config.s3.endpoint !== undefined ? { endpoint: config.s3.endpoint } : {}),
    // A copy: Config is frozen and the SDK marks the credentials object it is given (CREDENTIALS_CODE).
    ...(config.s3.credentials !== undefined ? { credentials: { ...config.s3.credentials } } : {}),
    requestChecksumCalculation: config.s3.checksums,
    responseChecksumValidation: config.s3.checksums,
  });
}

/** S3 side of a classify job, shared by the bench's own processors. */
export interface JobIo {
  /** The source object's bytes. */
  download(data: ClassifyJobData): Promise<Uint8Array>;
  /** Writes the result document and (when enabled) the source object's tags. */
  writeBack(data: ClassifyJobData, image: ImageInfo, results: ModelResult[]): Promise<void>;
  close(): void;
}

export function createJobIo(config: Config): JobIo {
  const s3 = s3Client(config);
  return {
    async download(data) {
      const object = await s3.send(new GetObjectCommand({ Bucket: data.bucket, Key: data.key }));
      if (object.Body === undefined)
        throw new LabelqError('object_not_found', `s3://${data.bucket}/${data.key}`);
      return object.Body.transformToByteArray();
    },
    async writeBack(data, image, results) {
      const document = {
        schemaVersion: RESULT_SCHEMA_VERSION,
        id: data.id,
        source: { bucket: data.bucket, key: data.key },
        image,
        results,
        completedAt: new Date().toISOString(),
      };
      await s3.send(
        new PutObjectCommand({
          Bucket: config.s3.bucket,
          Key: `${config.s3.resultsPrefix}${data.id}.json`,
          Body: JSON.stringify(document),
          ContentType: 'application/json',
        }),
      );
      if (!config.s3.writeTags) return;
      const tags = results.map((r) => ({
        Key: `labelq:${r.model.name}`.slice(0, 128),
        Value: tagValue(r.labels.find((l) => l.confidence >= config.tags.minConfidence)?.name ?? 'none'),
      }));
      await s3.send(
        new PutObjectTaggingCommand({
          Bucket: data.bucket,
          Key: data.key,
          Tagging: { TagSet: tags.slice(0, 10) },
        }),
      );
    },
    close: () => s3.destroy(),
  };
}

/**
 * Loads `names` (one ORT session each, `intraOpThreads` threads per session) and returns the processor.
 */
export async function createInlineProcessor(
  config: Config,
  names: readonly string[],
  intraOpThreads: number,
): Promise<InlineProcessor> {
  const loaded = await loadModels(config.models.dir, names);
  const models: ThreadModel[] = [];
  for (const { manifest, path } of loaded)
    models.push(await createThreadModel(manifest, path, { intraOpThreads }));
  const io = createJobIo(config);

  async function process(data: ClassifyJobData): Promise<number> {
    const bytes = await io.download(data);
    const image = await decodeImage(bytes, { maxInputPixels: config.pool.maxInputPixels });
    const results: ModelResult[] = [];
    for (const model of models) {
      if (!data.models.includes(model.manifest.name)) continue;
      results.push(await runModel(model, image, { topK: undefined, minConfidence: undefined }));
    }
    await io.writeBack(data, { format: image.format, width: image.width, height: image.height }, results);
    return results.reduce((n, r) => n + r.labels.length, 0);
  }

  return { models, process, close: () => io.close() };
}
