import { LabelqError } from '@labelq/errors';
import { z } from 'zod';
import { JOB_DATA_VERSION, type ClassifyJobData } from './job.ts';

const jobDataSchema = z.object({
  v: z.literal(JOB_DATA_VERSION),
  id: z.string().regex(/^(img|obj)_[0-9a-f]{32}$/),
  bucket: z.string().min(3),
  key: z.string().min(1),
  models: z.array(z.string().min(1)).min(1),
  purpose: z.enum(['tagging', 'moderation']),
  origin: z.enum(['upload', 's3']),
  metadata: z.record(z.string(), z.unknown()).optional(),
  submittedAt: z.string(),
});

/** Validates a job payload taken from Redis; anything else is `invalid_request` (poison, never retried). */
export function parseJobData(data: unknown): ClassifyJobData {
  const parsed = jobDataSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new LabelqError('invalid_request', `Unknown or malformed job payload: ${problems}`, {
      details: { problems },
    });
  }
  return parsed.data;
}
