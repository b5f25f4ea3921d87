import { readFileSync } from 'node:fs';

/** Set by `pnpm build` (scripts/build.ts, esbuild `define`) to the root package.json's version; absent in source mode. */
declare const __LABELQ_VERSION__: string | undefined;

/**
 * labelq's version (root package.json), recorded in every result document's provenance. The compiled worker has
 * it built in (a bundle cannot find package.json relative to its own file); from source it is read.
 */
export const LABELQ_VERSION: string =
  typeof __LABELQ_VERSION__ === 'string'
    ? __LABELQ_VERSION__
    : (
        JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
          version: string;
        }
      ).version;
