import type { LabelqError } from '@labelq/errors';
import type { ModelResult } from '@labelq/contracts';

export type FileOutcome = { file: string; results: ModelResult[] } | { file: string; error: LabelqError };

/** One JSON line: `{"file", "results"}` or `{"file", "error": {"code", "message"}}`. */
export function jsonLine(o: FileOutcome): string {
  return 'error' in o
    ? JSON.stringify({ file: o.file, error: { code: o.error.code, message: o.error.message } })
    : JSON.stringify({ file: o.file, results: o.results });
}

/** A readable table: one row per model per file, top labels with 3-decimal confidences. */
export class TableFormatter {
  constructor(
    private readonly fileWidth: number,
    private readonly modelWidth: number,
  ) {}

  header(): string {
    return `${'FILE'.padEnd(this.fileWidth)}  ${'MODEL'.padEnd(this.modelWidth)}  TOP LABELS`;
  }

  rows(o: FileOutcome): string[] {
    const file = o.file.padEnd(this.fileWidth);
    const blank = ' '.repeat(this.fileWidth);
    if ('error' in o)
      return [`${file}  ${'ERROR'.padEnd(this.modelWidth)}  ${o.error.code}: ${o.error.message}`];
    return o.results.map((r, i) => {
      return `${i === 0 ? file : blank}  ${r.model.name.padEnd(this.modelWidth)}  ${summary(r)}`;
    });
  }
}

/** What a model found, in one line: labels (and instance count), faces, or the text read. */
export function summary(r: ModelResult): string {
  const scores = (xs: { confidence: number }[]): string => xs.map((x) => x.confidence.toFixed(3)).join(', ');
  switch (r.task) {
    case 'classify':
    case 'detect': {
      const labels = r.labels.map((l) => `${l.name} ${l.confidence.toFixed(3)}`).join(', ') || '(none)';
      return r.task === 'detect' ? `${labels}  [${r.instances.length} instance(s)]` : labels;
    }
    case 'faces':
      return r.count === 0 ? '0 faces' : `${r.count} face(s): ${scores(r.faces)}`;
    case 'text': {
      const text = r.lines.map((l) => l.text).join(' | ');
      return text === '' ? '(no text)' : JSON.stringify(text.length > 120 ? `${text.slice(0, 119)}…` : text);
    }
  }
}
