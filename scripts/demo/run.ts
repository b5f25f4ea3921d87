// Uploads files through the HTTP API (multipart, like any client, with an API key) and waits for their results.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { moderationDecision, topTags, type DemoRow } from './format.ts';

/** Extensions the demo picks up from a folder; others are listed as skipped. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff']);

interface StatusBody {
  id: string;
  status: 'queued' | 'active' | 'completed' | 'failed';
  timings?: { submittedAt: string | null; finishedAt: string | null };
  result?: unknown;
  error?: { code: string; message: string };
}

/** The API's address and the key every request sends (`Authorization: Bearer <key>`). */
export interface ApiTarget {
  url: string;
  key: string;
}

function authorization(api: ApiTarget): { authorization: string } {
  return { authorization: `Bearer ${api.key}` };
}

/** Uploads one file; resolves with its image id, or a rejected row when the API refuses it. */
async function upload(api: ApiTarget, file: string): Promise<string | DemoRow> {
  const bytes = await readFile(file);
  const form = new FormData();
  form.append('file', new Blob([bytes]), basename(file));
  form.append('purpose', 'moderation');
  const res = await fetch(`${api.url}/v1/images`, {
    method: 'POST',
    body: form,
    headers: authorization(api),
  });
  const body = (await res.json()) as { id?: string; error?: { code: string; message: string } };
  if (res.status === 202 && body.id) return body.id;
  return {
    file: basename(file),
    id: null,
    status: 'rejected',
    tags: [],
    moderation: null,
    ms: null,
    error: body.error ?? { code: 'internal', message: `HTTP ${res.status}` },
  };
}

function rowFrom(file: string, s: StatusBody): DemoRow {
  const t = s.timings;
  const ms = t?.submittedAt && t.finishedAt ? Date.parse(t.finishedAt) - Date.parse(t.submittedAt) : null;
  return {
    file: basename(file),
    id: s.id,
    status: s.status === 'completed' ? 'completed' : 'failed',
    tags: topTags(s.result),
    moderation: moderationDecision(s.result),
    ms,
    error: s.error ?? null,
    result: s.result,
  };
}

export interface RunOptions {
  /** Give up on results after this long, ms. Default 300000. */
  timeoutMs?: number;
  /** Poll interval, ms. Default 200. */
  pollMs?: number;
  /** Rejects when this settles first (e.g. the worker process exiting). */
  abort?: Promise<never>;
}

/** Uploads every file (in order), then polls each until completed or failed. Rows keep the input order. */
export async function classifyThroughApi(
  api: ApiTarget,
  files: readonly string[],
  options: RunOptions = {},
): Promise<DemoRow[]> {
  const ids: (string | DemoRow)[] = [];
  for (const f of files) ids.push(await upload(api, f));
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  const rows: (DemoRow | undefined)[] = ids.map((x) => (typeof x === 'string' ? undefined : x));
  const poll = async (): Promise<void> => {
    while (rows.some((r) => r === undefined)) {
      for (const [i, x] of ids.entries()) {
        if (rows[i] !== undefined || typeof x !== 'string') continue;
        const res = await fetch(`${api.url}/v1/images/${x}`, { headers: authorization(api) });
        const body = (await res.json()) as StatusBody;
        if (res.ok && (body.status === 'completed' || body.status === 'failed'))
          rows[i] = rowFrom(files[i]!, body);
        // Refused (401 unauthenticated, 403, 404): asking again cannot help; 5xx may pass, so it is retried.
        else if (!res.ok && res.status < 500)
          rows[i] = {
            ...rowFrom(files[i]!, { id: x, status: 'failed' }),
            error: body.error ?? { code: 'internal', message: `HTTP ${res.status}` },
          };
      }
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
    }
  };
  await (options.abort ? Promise.race([poll(), options.abort]) : poll());
  return rows.map(
    (r, i) =>
      r ?? {
        file: basename(files[i]!),
        id: typeof ids[i] === 'string' ? ids[i] : null,
        status: 'timeout',
        tags: [],
        moderation: null,
        ms: null,
        error: { code: 'timeout', message: 'No result before the demo timeout' },
      },
  );
}

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}
