import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { collectFiles } from '../walk.ts';
import { ApiError, type ApiClient } from './client.ts';

/** Where a folder's upload state lives: which file (path, size, mtime) became which image id. */
export const STATE_FILE = '.labelq-upload.json';

interface FileState {
  size: number;
  mtimeMs: number;
  id: string;
  status: string;
  error?: { code: string; message: string };
}

interface ImageAnswer {
  id: string;
  status: string;
  error?: { code: string; message: string };
}

export interface LocalProgress {
  files: number;
  uploaded: number;
  alreadyUploaded: number;
  completed: number;
  failed: number;
  failedByCode: Record<string, number>;
}

const FINISHED = new Set(['completed', 'failed']);

/**
 * Uploads a folder's images through the API (POST /v1/images), `concurrency` at once, then (with `wait`) polls
 * until each is completed or failed. The state file makes a re-run skip every file already uploaded and
 * unchanged (same size and mtime): it is only asked for its status. The API dedups by content too, so a lost
 * state file costs uploads, never duplicate work.
 */
export async function runLocalFolder(
  client: ApiClient,
  dir: string,
  options: {
    models: string[] | undefined;
    concurrency: number;
    wait: boolean;
    onProgress: (p: LocalProgress) => void;
  },
): Promise<LocalProgress> {
  const statePath = join(dir, STATE_FILE);
  let state: Record<string, FileState> = {};
  try {
    state = JSON.parse(await readFile(statePath, 'utf8')) as Record<string, FileState>;
  } catch {
    // first run
  }
  const { entries } = await collectFiles([dir]);
  const files = entries.filter((e): e is { file: string } => !('error' in e)).map((e) => e.file);
  const p: LocalProgress = {
    files: files.length,
    uploaded: 0,
    alreadyUploaded: 0,
    completed: 0,
    failed: 0,
    failedByCode: {},
  };
  const query = options.models !== undefined ? `?models=${encodeURIComponent(options.models.join(','))}` : '';
  let next = 0;
  let dirty = 0;
  const save = async (): Promise<void> => writeFile(statePath, `${JSON.stringify(state, null, 1)}\n`);
  const upload = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++]!;
      const rel = relative(dir, file);
      const st = await stat(file);
      const known = state[rel];
      if (
        known !== undefined &&
        known.size === st.size &&
        known.mtimeMs === st.mtimeMs &&
        known.status !== 'failed'
      ) {
        p.alreadyUploaded++;
        continue;
      }
      const res = await client
        .raw('POST', `/v1/images${query}`, {
          body: await readFile(file),
          headers: { 'content-type': 'application/octet-stream' },
        })
        .catch((err: unknown) => err);
      if (res instanceof ApiError) {
        state[rel] = {
          size: st.size,
          mtimeMs: st.mtimeMs,
          id: '',
          status: 'failed',
          error: { code: res.code, message: res.message },
        };
      } else if (res instanceof Error) {
        throw res;
      } else {
        const a = (await (res as Response).json()) as ImageAnswer;
        state[rel] = { size: st.size, mtimeMs: st.mtimeMs, id: a.id, status: a.status };
        p.uploaded++;
      }
      if (++dirty % 50 === 0) await save();
      options.onProgress(p);
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency, Math.max(1, files.length)) }, upload),
    );
  } finally {
    await save();
  }
  const count = (): void => {
    p.completed = 0;
    p.failed = 0;
    p.failedByCode = {};
    for (const rel of files.map((f) => relative(dir, f))) {
      const s = state[rel];
      if (s?.status === 'completed') p.completed++;
      if (s?.status === 'failed') {
        p.failed++;
        const code = s.error?.code ?? 'internal';
        p.failedByCode[code] = (p.failedByCode[code] ?? 0) + 1;
      }
    }
  };
  for (;;) {
    const open = Object.entries(state).filter(([, s]) => s.id !== '' && !FINISHED.has(s.status));
    let i = 0;
    await Promise.all(
      Array.from({ length: Math.min(8, open.length) }, async () => {
        while (i < open.length) {
          const [rel, s] = open[i++]!;
          const a = await client.json<ImageAnswer>('GET', `/v1/images/${s.id}`);
          state[rel] = { ...s, status: a.status, ...(a.error ? { error: a.error } : {}) };
        }
      }),
    );
    count();
    options.onProgress(p);
    if (!options.wait || open.every(([rel]) => FINISHED.has(state[rel]!.status))) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  await save();
  return p;
}
