import type { ModelResult } from '@labelq/contracts';
import { describe, expect, it } from 'vitest';
import { moderate } from './decide.ts';
import { DEFAULT_POLICY, mergePolicy, policyFileSchema, type ModerationPolicy } from './policy.ts';
import { policyRuleSchema, type PolicyRuleInput } from './rules.ts';

const ref = (name: string) => ({ name, version: '1', sha256: 'x' });
const box = { x: 0, y: 0, width: 0.5, height: 0.5 };
const neutral: ModelResult = {
  task: 'classify',
  model: ref('nsfw-mobilenet-v2'),
  labels: [
    { name: 'Neutral', confidence: 0.95 },
    { name: 'Drawing', confidence: 0.02 },
    { name: 'Sexy', confidence: 0.01 },
    { name: 'Porn', confidence: 0.01 },
    { name: 'Hentai', confidence: 0.01 },
  ],
};
const detector = (...found: [string, number][]): ModelResult => ({
  task: 'detect',
  model: ref('coco-centernet'),
  labels: [],
  instances: found.map(([label, confidence]) => ({ label, confidence, box })),
});
const classifier = (label: string, confidence: number): ModelResult => ({
  task: 'classify',
  model: ref('weapons'),
  labels: [{ name: label, confidence }],
});
const ocr = (...lines: string[]): ModelResult => ({
  task: 'text',
  model: ref('text'),
  lines: lines.map((text) => ({ text, confidence: 0.95, box })),
});
const policy = (...rules: PolicyRuleInput[]): ModerationPolicy =>
  mergePolicy(policyFileSchema.parse({ version: 'rules-1', rules }));

const knife: PolicyRuleInput = { kind: 'instance', label: 'knife', minConfidence: 0.6, action: 'review' };
const twoPeople: PolicyRuleInput = {
  kind: 'instance',
  label: 'person',
  minConfidence: 0.5,
  minCount: 2,
  action: 'review',
};
const casino: PolicyRuleInput = {
  kind: 'text',
  words: ['casino', 'Free Spins'],
  patterns: ['bit\\s*coin'],
  action: 'block',
};
const weapon: PolicyRuleInput = { kind: 'class', label: 'weapon', minConfidence: 0.8, action: 'block' };

describe('policy rules', () => {
  it.each<[string, ModerationPolicy, ModelResult[], 'allow' | 'review' | 'block' | undefined]>([
    ['knife 0.6 (threshold met)', policy(knife), [detector(['knife', 0.6])], 'review'],
    ['knife 0.59', policy(knife), [detector(['knife', 0.59])], 'allow'],
    ['no knife', policy(knife), [detector(['cup', 0.9])], 'allow'],
    ['one person of two needed', policy(twoPeople), [detector(['person', 0.9], ['person', 0.4])], 'allow'],
    ['two people', policy(twoPeople), [detector(['person', 0.9], ['person', 0.5])], 'review'],
    ['a detector rule, but no detector ran', policy(knife), [ocr('knife')], undefined],
    ['no rules, no NSFW model', DEFAULT_POLICY, [detector(['knife', 0.99])], undefined],
    ['blocklisted word', policy(casino), [ocr('Welcome to the CASINO tonight')], 'block'],
    ['whole words only: longer words do not match', policy(casino), [ocr('casinos', 'occasinox')], 'allow'],
    ['a word next to punctuation', policy(casino), [ocr('best-casino!')], 'block'],
    ['two-word term, any case', policy(casino), [ocr('get FREE SPINS now')], 'block'],
    ['regex across a space', policy(casino), [ocr('buy bit coin')], 'block'],
    ['full-width letters (NFKC)', policy(casino), [ocr('ｃａｓｉｎｏ')], 'block'],
    ['clean text', policy(casino), [ocr('OPEN 24 HOURS')], 'allow'],
    ['OCR without spaces, whole words', policy(casino), [ocr('WELCOMETOCASINO')], 'allow'],
    [
      'OCR without spaces, wholeWords off',
      policy({ ...casino, wholeWords: false }),
      [ocr('WELCOMETOCASINO')],
      'block',
    ],
    [
      'wholeWords off, a spaced-out word',
      policy({ ...casino, wholeWords: false }),
      [ocr('c a s i n o')],
      'block',
    ],
    ['no text at all', policy(casino), [ocr()], 'allow'],
    ['classifier label over threshold', policy(weapon), [classifier('weapon', 0.8)], 'block'],
    ['classifier label under threshold', policy(weapon), [classifier('weapon', 0.79)], 'allow'],
    ['strictest action wins', policy(knife, casino), [detector(['knife', 0.9]), ocr('casino')], 'block'],
    ['NSFW thresholds still apply beside rules', policy(knife), [neutral, detector(['cup', 0.9])], 'allow'],
  ])('%s', (_name, p, results, decision) => {
    expect(moderate(results, p)?.decision).toBe(decision);
  });

  it('names the rule, the model and the matched term in the reasons', () => {
    const m = moderate(
      [detector(['knife', 0.7], ['knife', 0.65]), ocr('a', 'Casino royale')],
      policy(knife, casino),
    );
    expect(m).toEqual({
      decision: 'block',
      reasons: [{ rule: 'text', model: 'text', term: 'casino', match: 'Casino' }],
      policy: 'rules-1',
      models: ['coco-centernet', 'text'],
    });
    const r = moderate([detector(['knife', 0.7], ['knife', 0.65])], policy(knife));
    expect(r?.reasons).toEqual([
      { rule: 'instance', model: 'coco-centernet', label: 'knife', score: 0.7, threshold: 0.6, count: 2 },
    ]);
  });

  it('a rule naming a model ignores other models of that kind', () => {
    const only = policy({ ...knife, model: 'coco-nanodet' });
    expect(moderate([detector(['knife', 0.9])], only)).toBeUndefined();
  });

  it.each([
    ['a bad regex', { kind: 'text', patterns: ['(unclosed'], action: 'block' }],
    ['a text rule with nothing to match', { kind: 'text', action: 'block' }],
    ['an unknown action', { ...knife, action: 'delete' }],
    ['a threshold above 1', { ...knife, minConfidence: 1.5 }],
    ['an unknown kind', { kind: 'face', action: 'review' }],
    ['an unknown field', { ...knife, colour: 'red' }],
  ])('refuses %s', (_name, rule) => {
    expect(policyRuleSchema.safeParse(rule).success).toBe(false);
  });

  it('keeps MODERATION_POLICY_FILE content without rules valid and rule-free', () => {
    const p = mergePolicy(policyFileSchema.parse({ version: 'acme-1', review: { Sexy: null } }));
    expect(p.rules).toBeUndefined();
    expect(mergePolicy(policyFileSchema.parse({ version: 'v2' }), policy(knife)).rules).toHaveLength(1);
  });
});
