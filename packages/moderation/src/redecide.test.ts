import type { ModelResult, ResultDocument } from '@labelq/contracts';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, mergePolicy } from './policy.ts';
import { isStaleDecision, redecide } from './redecide.ts';
import { effectiveTenantPolicy, tenantPolicyVersion } from './tenant-policy.ts';

const nsfw = (s: Record<string, number>): ModelResult => ({
  task: 'classify',
  model: { name: 'nsfw-mobilenet-v2', version: '1', sha256: 'a'.repeat(64) },
  labels: Object.entries(s).map(([name, confidence]) => ({ name, confidence })),
});

function doc(scores: Record<string, number>, policy = DEFAULT_POLICY): ResultDocument {
  const results = [nsfw({ Neutral: 0, Drawing: 0, Porn: 0, Hentai: 0, Sexy: 0, ...scores })];
  const base = {
    status: 'completed' as const,
    schemaVersion: 2 as const,
    id: `img_${'0'.repeat(32)}`,
    source: { bucket: 'b', key: 'k', etag: '"e"', bytes: 1 },
    image: { format: 'jpeg', width: 1, height: 1 },
    results,
    purpose: 'moderation' as const,
    origin: 'upload' as const,
    provenance: { labelqVersion: '0', models: [results[0]!.model], attempt: 1 },
    timings: {
      submittedAt: 't',
      startedAt: 't',
      finishedAt: 't',
      downloadMs: 0,
      budgetWaitMs: 0,
      queueMs: 0,
      decodeMs: 0,
      models: {},
      totalMs: 0,
    },
  };
  const first = redecide(
    { ...base, moderation: { decision: 'allow', reasons: [], policy: '-', models: [] } },
    policy,
  );
  return { ...first, redecided: undefined };
}

const strict = mergePolicy({ version: 'strict', review: { Sexy: 0.5 } });
const off = mergePolicy({
  version: 'off',
  review: { Porn: null, Hentai: null, Sexy: null },
  block: { Porn: null, Hentai: null },
});

describe('redecide (stored scores, no inference)', () => {
  it.each([
    [{ Sexy: 0.6 }, DEFAULT_POLICY, strict, 'allow', 'review'],
    [{ Sexy: 0.6 }, strict, DEFAULT_POLICY, 'review', 'allow'],
    [{ Porn: 0.9 }, DEFAULT_POLICY, off, 'block', 'allow'],
    [{ Porn: 0.7 }, off, DEFAULT_POLICY, 'allow', 'review'],
  ])('%o: %s -> %s', (scores, from, to, before, after) => {
    const d = doc(scores, from);
    expect(d.moderation?.decision).toBe(before);
    expect(isStaleDecision(d, to)).toBe(true);
    const out = redecide(d, to, new Date('2026-12-01T00:00:00Z'));
    expect(out.moderation).toMatchObject({ decision: after, policy: to.version });
    expect(out.redecided).toEqual({
      at: '2026-12-01T00:00:00.000Z',
      fromPolicy: from.version,
      fromDecision: before,
    });
    expect(out.results).toBe(d.results);
  });
  it('leaves a document decided with the same policy alone', () => {
    const d = doc({ Sexy: 0.6 }, strict);
    expect(isStaleDecision(d, strict)).toBe(false);
    expect(redecide(d, strict)).toBe(d);
  });
  it('versions tenant policies by revision', () => {
    const p = effectiveTenantPolicy({
      revision: 7,
      file: { version: 'acme' },
      updatedAt: 't',
      updatedBy: 'k',
    });
    expect(p.version).toBe('acme@7');
    expect(tenantPolicyVersion({ version: 'acme' }, 8)).not.toBe(p.version);
    expect(p.review).toEqual(DEFAULT_POLICY.review);
  });
});
