import { z } from 'zod';

// Policy rules over any model's output, beside the NSFW category thresholds. A rule names an action (`review`
// or `block`); the strictest triggered action wins. Rules without `model` apply to every model of their kind.

const action = z.enum(['review', 'block']);
const score = z.number().min(0).max(1);
/** Longest pattern accepted: user regexes run on worker threads, keep them small (see textRuleSchema). */
const MAX_PATTERN = 200;

/** A classifier label at or above `minConfidence`, e.g. `{"kind":"class","label":"weapon","minConfidence":0.8}`. */
export const classRuleSchema = z
  .object({
    kind: z.literal('class'),
    /** Only this model's results; default every classifier. */
    model: z.string().min(1).optional(),
    label: z.string().min(1),
    minConfidence: score,
    action,
  })
  .strict();

/**
 * Detector instances of `label` at or above `minConfidence`, at least `minCount` of them (default 1), e.g.
 * `{"kind":"instance","label":"knife","minConfidence":0.6,"action":"review"}`.
 */
export const instanceRuleSchema = z
  .object({
    kind: z.literal('instance'),
    /** Only this model's results; default every detector. */
    model: z.string().min(1).optional(),
    label: z.string().min(1),
    minConfidence: score,
    minCount: z.number().int().positive().default(1),
    action,
  })
  .strict();

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, 'iu');
    return true;
  } catch {
    return false;
  }
}

/**
 * A blocklist over OCR text (`text` task results). `words` match whole words, case-insensitively, after Unicode
 * NFKC normalisation (so full-width letters count); `patterns` are regular expressions (flags `iu`), at most
 * 200 characters each. Each line is searched separately. Example:
 * `{"kind":"text","words":["casino"],"patterns":["free\\s+bitcoin"],"action":"block"}`.
 */
export const textRuleSchema = z
  .object({
    kind: z.literal('text'),
    /** Only this model's results; default every text model. */
    model: z.string().min(1).optional(),
    words: z.array(z.string().trim().min(1).max(MAX_PATTERN)).default([]),
    /**
     * true: a word matches only as a whole word. false: anywhere, spaces ignored on both sides (OCR often drops
     * the spaces between words: "WELCOMETOCASINO"), at the price of matching inside longer words. Default true.
     */
    wholeWords: z.boolean().default(true),
    patterns: z
      .array(z.string().min(1).max(MAX_PATTERN).refine(compiles, 'not a valid regular expression'))
      .default([]),
    action,
  })
  .strict()
  .refine((r) => r.words.length + r.patterns.length > 0, 'a text rule needs words or patterns');

export const policyRuleSchema = z.union([classRuleSchema, instanceRuleSchema, textRuleSchema]);
export type PolicyRule = z.infer<typeof policyRuleSchema>;
/** A rule as written in a policy file (defaults not yet applied). */
export type PolicyRuleInput = z.input<typeof policyRuleSchema>;
