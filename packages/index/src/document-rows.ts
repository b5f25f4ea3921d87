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
  /** The image's decision now: the reviewer's when a person decided, else the policy's. */
  decision: string | null;
  /** The policy's decision (what sent the image to review, if it did). */
  modelDecision: string | null;
  /** The API key id of the person who decided, and when (ISO); null without a review. */
  reviewedBy: string | null;
  reviewedAt: string | null;
  /**
   * When the document last changed after classification (a review, a re-decision under a newer policy), ISO;
   * null if never. With finishedAt it orders versions of one outcome: see write.ts.
   */
  revisedAt: string | null;
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

/** Fields later document versions may carry (batches); read defensively. */
interface OptionalFields {
  batch?: { id?: unknown } | string;
  batchId?: unknown;
}

/** The later of two ISO times, either possibly absent. */
function latestIso(a: string | undefined, b: string | undefined): string | null {
  if (a === undefined || b === undefined) return a ?? b ?? null;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

function optionalString(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/**
 * Labels of a completed document, one row per (model, label) with its best confidence: classifier labels,
 * detector labels with their instance counts, and for a face detector that found faces the label `face`
 * (instances: how many, confidence: the best face). OCR text is not a label (see ocrText).
 */
export function labelRows(doc: StoredDocument): LabelRow[] {
  if (doc.status !== 'completed') return [];
  const rows = new Map<string, LabelRow>();
  const add = (row: LabelRow): void => {
    const k = `${row.model}\0${row.label}`;
    const prev = rows.get(k);
    if (prev === undefined || prev.confidence < row.confidence) rows.set(k, row);
  };
  for (const result of doc.results) {
    const model = result.model.name;
    switch (result.task) {
      case 'classify':
        for (const { name, confidence } of result.labels)
          add({ model, task: 'classify', label: name, confidence, instances: 0 });
        break;
      case 'detect': {
        const counts = new Map<string, number>();
        for (const inst of result.instances) counts.set(inst.label, (counts.get(inst.label) ?? 0) + 1);
        for (const { name, confidence } of result.labels)
          add({ model, task: 'detect', label: name, confidence, instances: counts.get(name) ?? 0 });
        break;
      }
      case 'faces':
        if (result.count > 0)
          add({
            model,
            task: 'faces',
            label: 'face',
            confidence: Math.max(...result.faces.map((f) => f.confidence)),
            instances: result.count,
          });
        break;
      case 'text':
        break;
    }
  }
  return [...rows.values()];
}

/** OCR text of a document (when a text model ran): its lines, top to bottom, one per line of text. */
export function ocrText(doc: StoredDocument): string | null {
  if (doc.status !== 'completed') return null;
  const lines = doc.results.flatMap((r) => (r.task === 'text' ? r.lines.map((l) => l.text) : []));
  const text = lines.filter((l) => l.trim() !== '').join('\n');
  return text === '' ? null : text;
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
        modelDecision: null,
        reviewedBy: null,
        reviewedAt: null,
        revisedAt: null,
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
  const decision = doc.review?.decision ?? doc.moderation?.decision ?? null;
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
      modelDecision: doc.moderation?.decision ?? null,
      reviewedBy: doc.review?.by ?? null,
      reviewedAt: doc.review?.at ?? null,
      revisedAt: latestIso(doc.review?.at, doc.redecided?.at),
      policyVersion: doc.moderation?.policy ?? null,
      models: doc.provenance.models,
      errorCode: null,
      schemaVersion: doc.schemaVersion,
      ocrText: ocrText(doc),
      phash: props !== undefined ? phashToBigint(props.phash) : null,
      brightness: props?.brightness ?? null,
      sharpness: props?.sharpness ?? null,
      colours: props?.colours ?? null,
    },
    labels: labelRows(doc),
  };
}
