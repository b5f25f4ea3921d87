/** One scrape of a Prometheus text endpoint: the raw text and its samples. */
export interface Scrape {
  raw: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text exposition format (samples only; HELP and TYPE lines are skipped). */
export function parsePrometheus(raw: string): Scrape {
  const samples: Scrape['samples'] = [];
  for (const line of raw.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { raw, samples };
}

/** GETs and parses a metrics endpoint (optionally with headers, e.g. an API key). */
export async function scrape(url: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain')) throw new Error(`${url}: content-type ${type}`);
  return parsePrometheus(await res.text());
}

/**
 * The value of the one sample named `name` whose labels include `labels`; throws when none or several match,
 * so a test never passes on a metric that is missing.
 */
export function sample(s: Scrape, name: string, labels: Record<string, string>): number {
  const found = s.samples.filter(
    (x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v),
  );
  if (found.length !== 1) {
    throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)}`);
  }
  return found[0]!.value;
}
