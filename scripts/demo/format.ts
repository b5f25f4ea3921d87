// Turns API status bodies into the demo's table rows and JSON lines. Reads the result document loosely: it is
// the worker's (per-model `results` with sorted `labels`, plus `moderation` with a `decision`).

/** What the demo reports per file. */
export interface DemoRow {
  file: string;
  id: string | null;
  status: 'completed' | 'failed' | 'rejected' | 'timeout';
  /** Top labels over all models, "name 0.93" style in the table. */
  tags: { model: string; name: string; confidence: number }[];
  moderation: string | null;
  /** Submit to finish, ms (server timings). */
  ms: number | null;
  error: { code: string; message: string } | null;
  result?: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Best labels over every model of a result document, highest first. */
export function topTags(result: unknown, count = 3): DemoRow['tags'] {
  const doc = isObj(result) ? result : {};
  const results = Array.isArray(doc.results) ? doc.results : [];
  const tags: DemoRow['tags'] = [];
  for (const r of results) {
    if (!isObj(r) || !Array.isArray(r.labels)) continue;
    const model = isObj(r.model) && typeof r.model.name === 'string' ? r.model.name : '?';
    // Moderation classes ("neutral", "porn", ...) are summarised by the decision column, not as tags.
    if (model.startsWith('nsfw')) continue;
    for (const l of r.labels) {
      if (isObj(l) && typeof l.name === 'string' && typeof l.confidence === 'number') {
        tags.push({ model, name: l.name, confidence: l.confidence });
      }
    }
  }
  return tags.sort((a, b) => b.confidence - a.confidence).slice(0, count);
}

/** The moderation decision of a result document (`allow`, `review`, `block`, ...), if any. */
export function moderationDecision(result: unknown): string | null {
  if (!isObj(result)) return null;
  const m = result.moderation;
  if (typeof m === 'string') return m;
  if (isObj(m) && typeof m.decision === 'string') return m.decision;
  return null;
}

function pad(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}

/** A fixed-width table for a terminal. */
export function formatTable(rows: readonly DemoRow[]): string {
  const fileW = Math.min(28, Math.max(4, ...rows.map((r) => r.file.length)));
  const head = `${pad('file', fileW)}  ${pad('top tags', 44)}  ${pad('moderation', 10)}  ${'time'.padStart(7)}`;
  const lines = rows.map((r) => {
    const tags =
      r.status === 'completed'
        ? r.tags.map((t) => `${t.name} ${t.confidence.toFixed(2)}`).join(', ') || '(no objects found)'
        : `${r.status}: ${r.error?.code ?? ''}`;
    const time = r.ms === null ? '-' : `${(r.ms / 1000).toFixed(2)}s`;
    return `${pad(r.file, fileW)}  ${pad(tags, 44)}  ${pad(r.moderation ?? '-', 10)}  ${time.padStart(7)}`;
  });
  return [head, '-'.repeat(head.length), ...lines].join('\n');
}

/** One JSON line per file (the full result document included). */
export function formatJsonLine(row: DemoRow): string {
  return JSON.stringify(row);
}
