import { z } from 'zod';

/** One manifest line, parsed: an object to tag, or why the line is not one. */
export type ManifestLine =
  | { ok: true; bucket: string; key: string; versionId?: string; metadata?: Record<string, unknown> }
  | { ok: false; message: string };

export type ManifestFormat = 'csv' | 'jsonl';

/** JSONL when the key ends in `.jsonl`/`.ndjson`, else CSV (S3 Batch Operations and Inventory manifests). */
export function manifestFormat(key: string): ManifestFormat {
  return /\.(jsonl|ndjson)$/i.test(key) ? 'jsonl' : 'csv';
}

const jsonLine = z
  .object({
    key: z.string().min(1).max(1024),
    bucket: z.string().min(3).max(63).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** Splits one CSV record (RFC 4180 quoting, as S3 Inventory writes every field). */
function splitCsv(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        if (line[i] === '"') {
          if (line[i + 1] === '"') {
            v += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += line[i++];
      }
      out.push(v);
      if (i < line.length && line[i] !== ',') return undefined;
      i++;
    } else {
      const end = line.indexOf(',', i);
      const stop = end === -1 ? line.length : end;
      out.push(line.slice(i, stop));
      i = stop + 1;
    }
  }
  return out;
}

/**
 * Parses one manifest line (blank lines are the caller's to skip).
 * - CSV: `bucket,key[,versionId,...]`, the key URL-encoded as S3 Batch Operations and Inventory write it
 *   (`+` is a space); extra Inventory columns are ignored. A bucket other than the batch's is kept: the API
 *   checks each bucket the same way as the batch's own.
 * - JSONL: `{"key", "bucket"?, "metadata"?}`; the bucket defaults to the manifest's source bucket.
 */
export function parseManifestLine(line: string, format: ManifestFormat, defaultBucket: string): ManifestLine {
  if (format === 'jsonl') {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      return { ok: false, message: 'not valid JSON' };
    }
    const parsed = jsonLine.safeParse(raw);
    if (!parsed.success) {
      return {
        ok: false,
        message: parsed.error.issues.map((i) => `${i.path.join('.') || '(line)'}: ${i.message}`).join('; '),
      };
    }
    const { key, bucket, metadata } = parsed.data;
    return {
      ok: true,
      bucket: bucket ?? defaultBucket,
      key,
      ...(metadata !== undefined ? { metadata } : {}),
    };
  }
  const fields = splitCsv(line.replace(/\r$/, ''));
  if (fields === undefined) return { ok: false, message: 'unbalanced quotes' };
  if (fields.length < 2) return { ok: false, message: 'expected bucket,key[,versionId]' };
  const [bucket, encodedKey, versionId] = fields as [string, string, string | undefined];
  if (bucket.length < 3 || bucket.length > 63) return { ok: false, message: `bad bucket name "${bucket}"` };
  let key: string;
  try {
    key = decodeURIComponent(encodedKey.replace(/\+/g, ' '));
  } catch {
    return { ok: false, message: 'the key is not valid URL encoding' };
  }
  if (key.length === 0 || key.length > 1024) return { ok: false, message: 'empty or over-long key' };
  return { ok: true, bucket, key, ...(versionId ? { versionId } : {}) };
}
