import type { Batch } from '@labelq/contracts';
import type { Logger } from 'pino';

/**
 * Runs once when a batch ends (completed or failed), in the batch role, after its report is written and its
 * status stored. The one place to announce the end of a batch: a `batch.completed` webhook hooks in here.
 */
export async function onBatchFinished(batch: Batch, ctx: { logger: Logger }): Promise<void> {
  ctx.logger.info(
    {
      batchId: batch.id,
      tenant: batch.tenant,
      status: batch.status,
      counts: batch.counts,
      report: batch.report,
    },
    'batch finished',
  );
  return Promise.resolve();
}
