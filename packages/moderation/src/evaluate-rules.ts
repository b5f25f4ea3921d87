import type { ModelResult, ModerationReason } from '@labelq/contracts';
import type { PolicyRule } from './rules.ts';

/** A rule that triggered, with the action it asks for. */
export interface TriggeredRule {
  action: 'review' | 'block';
  reason: ModerationReason;
}

const TASK_OF: Record<PolicyRule['kind'], ModelResult['task']> = {
  class: 'classify',
  instance: 'detect',
  text: 'text',
};

/** True when `rule` looks at `result` (its kind's task, and its model if it names one). Pure. */
export function ruleApplies(rule: PolicyRule, result: ModelResult): boolean {
  return result.task === TASK_OF[rule.kind] && (rule.model === undefined || rule.model === result.model.name);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Whole-word, case-insensitive: not preceded or followed by a letter, digit or underscore. With `wholeWords`
 * off: the word's letters in order with any whitespace between them, anywhere in the line.
 */
function wordPattern(word: string, wholeWords: boolean): RegExp {
  const w = word.normalize('NFKC');
  if (!wholeWords) {
    return new RegExp([...w.replace(/\s+/g, '')].map(escape).join('\\s*'), 'iu');
  }
  return new RegExp(`(?<![\\p{L}\\p{N}_])${escape(w)}(?![\\p{L}\\p{N}_])`, 'iu');
}

/**
 * Evaluates every rule against every result it applies to, in rule order. Pure: the same results and rules
 * always trigger the same reasons.
 */
export function evaluateRules(
  results: readonly ModelResult[],
  rules: readonly PolicyRule[],
): TriggeredRule[] {
  const out: TriggeredRule[] = [];
  for (const rule of rules) {
    for (const result of results) {
      if (!ruleApplies(rule, result)) continue;
      const model = result.model.name;
      if (rule.kind === 'class' && result.task === 'classify') {
        const label = result.labels.find((l) => l.name === rule.label);
        if (label !== undefined && label.confidence >= rule.minConfidence) {
          out.push({
            action: rule.action,
            reason: {
              rule: 'class',
              model,
              label: rule.label,
              score: label.confidence,
              threshold: rule.minConfidence,
            },
          });
        }
      } else if (rule.kind === 'instance' && result.task === 'detect') {
        const hits = result.instances.filter(
          (i) => i.label === rule.label && i.confidence >= rule.minConfidence,
        );
        if (hits.length >= rule.minCount) {
          out.push({
            action: rule.action,
            reason: {
              rule: 'instance',
              model,
              label: rule.label,
              score: Math.max(...hits.map((h) => h.confidence)),
              threshold: rule.minConfidence,
              count: hits.length,
            },
          });
        }
      } else if (rule.kind === 'text' && result.task === 'text') {
        const lines = result.lines.map((l) => l.text.normalize('NFKC'));
        const terms: [string, RegExp][] = [
          ...rule.words.map((w): [string, RegExp] => [w, wordPattern(w, rule.wholeWords)]),
          ...rule.patterns.map((p): [string, RegExp] => [p, new RegExp(p, 'iu')]),
        ];
        for (const [term, re] of terms) {
          for (const line of lines) {
            const m = re.exec(line);
            if (m !== null && m[0] !== '') {
              out.push({ action: rule.action, reason: { rule: 'text', model, term, match: m[0] } });
              break;
            }
          }
        }
      }
    }
  }
  return out;
}
