import { z } from 'zod';

/**
 * Why something failed, as data: a stable code of the @labelq/errors registry and a human message. Readers
 * accept codes they do not know (a newer worker may write one during a rolling deploy).
 */
export const failureReasonSchema = z.object({
  code: z.string().min(1).describe('A stable error code (packages/errors/src/codes.ts)'),
  message: z.string(),
});
export type FailureReason = z.infer<typeof failureReasonSchema>;

/**
 * BullMQ keeps a failed job's reason as one string (`failedReason`, the thrown error's message), and tools
 * such as dashboards show it. The worker throws errors whose message is this JSON, so the reason crosses the
 * process boundary as data and is read back with a schema, never a regex.
 */
export function encodeFailedReason(reason: FailureReason): string {
  return JSON.stringify({ code: reason.code, message: reason.message });
}

/**
 * The coded reason of a failed BullMQ job. Reasons BullMQ writes itself (not our JSON) are mapped: its stall
 * limit to `job_stalled`, anything else (a lost lock, a crashed process) to `internal` with BullMQ's text.
 */
export function decodeFailedReason(failedReason: string | undefined): FailureReason {
  const text = failedReason ?? 'unknown failure';
  if (text.startsWith('{')) {
    try {
      const parsed = failureReasonSchema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
    } catch {
      // Not our JSON: one of BullMQ's own reasons below.
    }
  }
  if (text === 'job stalled more than allowable limit') return { code: 'job_stalled', message: text };
  return { code: 'internal', message: text };
}
