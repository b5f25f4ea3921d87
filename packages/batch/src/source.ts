import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { LabelqError, toLabelqError } from '@labelq/errors';
import { mapS3Error } from '@labelq/storage';
import type { Readable } from 'node:stream';
import { parseManifestLine, manifestFormat } from './manifest.ts';

/** One entry of a source page: an object, or a manifest line that names none. */
export type SourceEntry =
  | {
      ok: true;
      bucket: string;
      key: string;
      etag?: string;
      size?: number;
      lastModified?: Date;
      metadata?: Record<string, unknown>;
      line?: number;
    }
  | { ok: false; line: number; message: string };

export interface SourcePage {
  entries: SourceEntry[];
  /** Where the next page starts (opaque; stored as the batch's listCursor). */
  cursor: string;
  done: boolean;
}

/** One ListObjectsV2 page under `prefix`, from `cursor` (the continuation token; empty for the first). */
export async function readPrefixPage(
  client: S3Client,
  bucket: string,
  prefix: string,
  cursor: string,
  pageSize: number,
): Promise<SourcePage> {
  let out;
  try {
    out = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        MaxKeys: pageSize,
        ...(cursor !== '' ? { ContinuationToken: cursor } : {}),
      }),
    );
  } catch (err) {
    throw mapS3Error(err, { bucket, key: prefix, op: 'ListObjectsV2' });
  }
  const entries: SourceEntry[] = (out.Contents ?? [])
    .filter((o) => o.Key !== undefined)
    .map((o) => ({
      ok: true as const,
      bucket,
      key: o.Key!,
      ...(o.ETag !== undefined ? { etag: o.ETag } : {}),
      ...(o.Size !== undefined ? { size: o.Size } : {}),
      ...(o.LastModified !== undefined ? { lastModified: o.LastModified } : {}),
    }));
  const next = out.IsTruncated === true ? out.NextContinuationToken : undefined;
  return { entries, cursor: next ?? '', done: next === undefined };
}

/** Longest manifest line read; a longer one is a bad line (S3 keys are at most 1024 bytes, URL-encoded 3x). */
const MAX_LINE_BYTES = 16 * 1024;

/**
 * The next `pageSize` lines of a manifest, from `cursor` = `<byte offset>:<lines before it>` (empty: the start).
 * Reads with a Range request from the offset, so a resumed batch never re-reads what it already listed and
 * memory holds one page. Blank lines are skipped (and not counted as items); bad lines become entries with
 * their 1-based line number. A missing manifest is `manifest_unreadable`.
 */
export async function readManifestPage(
  client: S3Client,
  bucket: string,
  manifestKey: string,
  cursor: string,
  pageSize: number,
): Promise<SourcePage> {
  const [offsetText, lineText] = cursor === '' ? ['0', '0'] : cursor.split(':');
  const offset = Number(offsetText);
  let lineNo = Number(lineText);
  let body: Readable;
  try {
    const res = await client.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: manifestKey,
        ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}),
      }),
    );
    body = res.Body as Readable;
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (offset > 0 && (status === 416 || (err as Error).name === 'InvalidRange')) {
      return { entries: [], cursor, done: true };
    }
    const e = mapS3Error(err, { bucket, key: manifestKey, op: 'GetObject' });
    if (e.code === 'object_not_found' || e.code === 'storage_rejected') {
      throw new LabelqError('manifest_unreadable', `Manifest s3://${bucket}/${manifestKey}: ${e.message}`, {
        cause: err,
        details: { bucket, key: manifestKey, reason: e.code },
      });
    }
    throw e;
  }
  const format = manifestFormat(manifestKey);
  const entries: SourceEntry[] = [];
  let consumed = 0;
  let pending = Buffer.alloc(0);
  let ended = true;
  const take = (raw: Buffer): void => {
    consumed += raw.length + 1;
    lineNo++;
    const text = raw.toString('utf8').replace(/\r$/, '');
    if (text.trim() === '') return;
    if (raw.length > MAX_LINE_BYTES) {
      entries.push({ ok: false, line: lineNo, message: `line longer than ${MAX_LINE_BYTES} bytes` });
      return;
    }
    // The CSV header S3 Inventory never writes, but people do: a first line `bucket,key` is skipped.
    if (lineNo === 1 && format === 'csv' && /^"?bucket"?,"?key"?/i.test(text)) return;
    const parsed = parseManifestLine(text, format, bucket);
    entries.push(
      parsed.ok
        ? {
            ok: true,
            bucket: parsed.bucket,
            key: parsed.key,
            line: lineNo,
            ...(parsed.metadata !== undefined ? { metadata: parsed.metadata } : {}),
          }
        : { ok: false, line: lineNo, message: parsed.message },
    );
  };
  try {
    outer: for await (const chunk of body) {
      pending = Buffer.concat([pending, chunk as Buffer]);
      let nl: number;
      while ((nl = pending.indexOf(0x0a)) !== -1) {
        take(pending.subarray(0, nl));
        pending = pending.subarray(nl + 1);
        if (entries.length >= pageSize) {
          ended = false;
          break outer;
        }
      }
      if (pending.length > MAX_LINE_BYTES * 4) {
        throw new LabelqError(
          'manifest_unreadable',
          `Manifest line ${lineNo + 1} has no end within ${MAX_LINE_BYTES * 4} bytes`,
        );
      }
    }
  } catch (err) {
    body.destroy();
    const e = toLabelqError(err);
    throw e.code === 'internal' ? mapS3Error(err, { bucket, key: manifestKey, op: 'GetObject' }) : e;
  }
  if (!ended) {
    body.destroy();
    return { entries, cursor: `${offset + consumed}:${lineNo}`, done: false };
  }
  // The last line may lack its newline.
  if (pending.length > 0) {
    take(pending);
    consumed -= 1;
  }
  return { entries, cursor: `${offset + consumed}:${lineNo}`, done: true };
}
