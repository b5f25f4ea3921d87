import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

/** Extensions picked up when walking a directory (named files are always taken, whatever their name). */
export const IMAGE_EXTENSIONS = new Set([
  '.jpg',
  '.jpeg',
  '.png',
  '.webp',
  '.gif',
  '.avif',
  '.heic',
  '.tif',
  '.tiff',
]);

/** A file to classify, or a path that could not be listed (reported as an error line, not dropped). */
export type WalkEntry = { file: string } | { file: string; error: Error };

/**
 * Expands the arguments into files: a file is taken as is; a directory is walked recursively (sorted, dot
 * entries ignored) for files with an image extension; other files are returned in `skipped` so the caller can
 * say so. A missing path yields an error entry.
 */
export async function collectFiles(
  paths: readonly string[],
): Promise<{ entries: WalkEntry[]; skipped: string[] }> {
  const out: WalkEntry[] = [];
  const skipped: string[] = [];
  for (const p of paths) {
    try {
      const s = await stat(p);
      if (s.isDirectory()) await walk(p, out, skipped);
      else out.push({ file: p });
    } catch (err) {
      out.push({ file: p, error: err as Error });
    }
  }
  return { entries: out, skipped };
}

async function walk(dir: string, out: WalkEntry[], skipped: string[]): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) await walk(path, out, skipped);
    else if (e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) out.push({ file: path });
    else skipped.push(path);
  }
}
