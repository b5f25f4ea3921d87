import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModerationPolicy } from './load.ts';
import { DEFAULT_POLICY } from './policy.ts';

describe('loadModerationPolicy', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'labelq-policy-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('returns the default without a file', async () => {
    expect(await loadModerationPolicy(undefined)).toBe(DEFAULT_POLICY);
  });

  it('merges a valid file over the defaults', async () => {
    const file = join(dir, 'ok.json');
    await writeFile(file, JSON.stringify({ version: 'strict-1', review: { Sexy: 0.8 } }));
    const p = await loadModerationPolicy(file);
    expect(p.version).toBe('strict-1');
    expect(p.review).toEqual({ Porn: 0.6, Hentai: 0.6, Sexy: 0.8 });
  });

  it.each([
    ['missing.json', undefined, /ENOENT/],
    ['bad-json.json', '{', /JSON/],
    ['no-version.json', JSON.stringify({ review: { Porn: 0.5 } }), /version/],
    ['out-of-range.json', JSON.stringify({ version: 'x', block: { Porn: 1.5 } }), /block\.Porn/],
    ['unknown-category.json', JSON.stringify({ version: 'x', review: { Neutral: 0.5 } }), /review/],
    ['extra-key.json', JSON.stringify({ version: 'x', allow: {} }), /allow|unrecognized/i],
  ])('%s -> config_invalid', async (name, body, message) => {
    const file = join(dir, name);
    if (body !== undefined) await writeFile(file, body);
    await expect(loadModerationPolicy(file)).rejects.toMatchObject({ code: 'config_invalid', message });
  });
});
