// The one place that knows the result document's shape: a stored document becomes an images row and its label
// rows. When the document changes (per-task result entries, OCR text, batches, review decisions), only this file
// changes.
import type { StoredDocument } from '@labelq/contracts';

export interface ImageRow {
  tenant: string;
  id: string;
  status: 'completed' | 'failed';
  bucket: string;
  key: string;
  etag: string | null;
  format: string | null;
  bytes: number | null;
  width: number | null;
  height: number | null;
  contentType: string | null;
  purpose: string | null;
  origin: string | null;
  batchId: string | null;
  submittedAt: string | null;
  finishedAt: string;
  decision: string | null;
  policyVersion: string | null;
  models: { name: string; version: string; sha256?: string }[];
  errorCode: string | null;
  schemaVersion: number;
  ocrText: string | null;
  /** Signed 64-bit decimal string (Postgres bigint) of the pHash. */
  phash: string | null;
  brightness: number | null;
  sharpness: number | null;
  colours: unknown;
}

export interface LabelRow {
  model: string;
  task: string;
  label: string;
  confidence: number;
  instances: number;
}

export interface IndexRows {
  image: ImageRow;
  labels: LabelRow[];
}

/** A hex pHash as Postgres's signed bigint (decimal string). */
export function phashToBigint(hex: string): string {
  return BigInt.asIntN(64, BigInt(`0x${hex}`)).toString();
}

/** Postgres's signed bigint back to the 16-hex-digit pHash. */
export function bigintToPhash(value: string | bigint): string {
  return BigInt.asUintN(64, BigInt(value)).toString(16).padStart(16, '0');
}

/** Fields later document versions may carry; read defensively so this works before and after they exist. */
interface OptionalFields {
  batch?: { id?: unknown } | string;
  batchId?: unknown;
  text?: unknown;
  review?: { decision?: unknown };
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/**
 * Labels of a completed document, one row per (model, label): the label's best confidence and, for detectors,
 * how many instances it has. Whole-image classifiers are task `classify`, detectors `detect`.
 */
export function labelRows(doc: StoredDocument): LabelRow[] {
  if (doc.status !== 'completed') return [];
  const rows = new Map<string, LabelRow>();
  for (const result of doc.results) {
    const task = result.instances !== undefined ? 'detect' : 'classify';
    const counts = new Map<string, number>();
    for (const inst of result.instances ?? []) counts.set(inst.label, (counts.get(inst.label) ?? 0) + 1);
    for (const { name, confidence } of result.labels) {
      const k = `${result.model.name}\0${name}`;
      const prev = rows.get(k);
      if (prev !== undefined && prev.confidence >= confidence) continue;
      rows.set(k, {
        model: result.model.name,
        task,
        label: name,
        confidence,
        instances: counts.get(name) ?? 0,
      });
    }
  }
  return [...rows.values()];
}

/** OCR text of a document (when a text model wrote any): its lines joined by newlines. */
function ocrText(doc: StoredDocument & OptionalFields): string | null {
  const text = doc.text;
  if (typeof text === 'string') return text.length > 0 ? text : null;
  if (Array.isArray(text)) {
    const lines = text
      .map((t: unknown) =>
        typeof t === 'string' ? t : optionalString((t as { text?: unknown } | null)?.text),
      )
      .filter((t): t is string => t !== null);
    return lines.length > 0 ? lines.join('\n') : null;
  }
  return null;
}

/** The rows a stored document (any version, upgraded by readStoredDocument) becomes in the index. */
export function documentRows(doc: StoredDocument): IndexRows {
  const extra = doc as StoredDocument & OptionalFields;
  const batchId =
    optionalString(extra.batchId) ??
    (typeof extra.batch === 'string' ? optionalString(extra.batch) : optionalString(extra.batch?.id));
  const tenant = doc.tenant ?? 'default';
  if (doc.status === 'failed') {
    return {
      image: {
        tenant,
        id: doc.id,
        status: 'failed',
        bucket: doc.source.bucket,
        key: doc.source.key,
        etag: null,
        format: null,
        bytes: null,
        width: null,
        height: null,
        contentType: null,
        purpose: null,
        origin: null,
        batchId,
        submittedAt: doc.timings.submittedAt,
        finishedAt: doc.timings.finishedAt,
        decision: null,
        policyVersion: null,
        models: [],
        errorCode: doc.error.code,
        schemaVersion: doc.schemaVersion,
        ocrText: null,
        phash: null,
        brightness: null,
        sharpness: null,
        colours: null,
      },
      labels: [],
    };
  }
  // A human review decision (when present) overrides the automatic one: it is the image's decision now.
  const decision = optionalString(extra.review?.decision) ?? doc.moderation?.decision ?? null;
  const props = doc.properties;
  return {
    image: {
      tenant,
      id: doc.id,
      status: 'completed',
      bucket: doc.source.bucket,
      key: doc.source.key,
      etag: doc.source.etag,
      format: doc.image.format,
      bytes: doc.source.bytes,
      width: doc.image.width,
      height: doc.image.height,
      contentType: doc.source.contentType ?? null,
      purpose: doc.purpose,
      origin: doc.origin,
      batchId,
      submittedAt: doc.timings.submittedAt,
      finishedAt: doc.timings.finishedAt,
      decision,
      policyVersion: doc.moderation?.policy ?? null,
      models: doc.provenance.models,
      errorCode: null,
      schemaVersion: doc.schemaVersion,
      ocrText: ocrText(extra),
      phash: props !== undefined ? phashToBigint(props.phash) : null,
      brightness: props?.brightness ?? null,
      sharpness: props?.sharpness ?? null,
      colours: props?.colours ?? null,
    },
    labels: labelRows(doc),
  };
}
