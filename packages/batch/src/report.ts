import type { BatchState } from './store.ts';
import { reportKeys } from './keys.ts';
import { batchOutcomes } from './outcomes.ts';
import type { RunnerDeps } from './runner.ts';

/**
 * The completion report, as S3 Batch Operations writes one: `summary.json` (the batch as the API answers it)
 * and `failures.jsonl` (one line per failed item: ordinal, bucket, key, manifest line, code, message), under
 * `BATCH_REPORTS_PREFIX<tenant>/<batch>/` in the results bucket. The failures are streamed from the item pages;
 * the report holds the failed lines only.
 */
export async function writeReport(
  deps: Pick<RunnerDeps, 'store' | 's3' | 'config'>,
  s: BatchState,
  status: 'completed' | 'failed',
): Promise<NonNullable<BatchState['report']>> {
  const { s3, config } = deps;
  const keys = reportKeys(config.batch.reportsPrefix, s.tenant, s.id);
  const lines: string[] = [];
  for await (const o of batchOutcomes(
    { store: deps.store, s3, reportsPrefix: config.batch.reportsPrefix },
    s,
  )) {
    if (o.status !== 'failed') continue;
    lines.push(
      JSON.stringify({
        ordinal: o.ordinal,
        bucket: o.bucket,
        key: o.key,
        ...(o.line !== undefined ? { line: o.line } : {}),
        code: o.error?.code,
        message: o.error?.message,
      }),
    );
  }
  const body = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  await s3.putObject(s3.bucket, keys.failuresKey, body, {
    contentType: 'application/x-ndjson',
    contentLength: Buffer.byteLength(body),
  });
  const report = { bucket: s3.bucket, ...keys };
  const summary = await deps.store.view({ ...s, status, finishedAt: new Date().toISOString(), report });
  await s3.putJson(s3.bucket, keys.summaryKey, summary);
  return report;
}
