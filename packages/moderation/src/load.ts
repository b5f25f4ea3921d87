import { LabelqError } from '@labelq/errors';
import { readFile } from 'node:fs/promises';
import { DEFAULT_POLICY, mergePolicy, policyFileSchema, type ModerationPolicy } from './policy.ts';

/**
 * The policy to use: {@link DEFAULT_POLICY}, or the JSON file at `file` (config.moderation.policyFile) merged
 * over it. A missing, unreadable or invalid file is `config_invalid`, so a worker refuses to start.
 */
export async function loadModerationPolicy(file: string | undefined): Promise<ModerationPolicy> {
  if (file === undefined) return DEFAULT_POLICY;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new LabelqError('config_invalid', `MODERATION_POLICY_FILE ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const parsed = policyFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new LabelqError('config_invalid', `MODERATION_POLICY_FILE ${file} is invalid: ${problems}`, {
      details: { problems },
    });
  }
  return mergePolicy(parsed.data);
}
