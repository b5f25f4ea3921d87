import { readFileSync } from 'node:fs';

/** labelq's version (root package.json), recorded in every result document's provenance. */
export const LABELQ_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
