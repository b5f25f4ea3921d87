import type { OpenJobs } from '@labelq/access';
import type { Config } from '@labelq/config';
import { DEFAULT_TENANT, type ClassifyJob } from '@labelq/contracts';
import { classifyJob, type ClassifyQueue } from '@labelq/queue';

/** Enqueues as the API does for a request of 100 images: reserve the ids, then one addBulk. */
export async function enqueueAsApi(
  queue: ClassifyQueue,
  openJobs: OpenJobs,
  config: Config,
  jobs: readonly ClassifyJob[],
): Promise<void> {
  for (let i = 0; i < jobs.length; i += 100) {
    const chunk = jobs.slice(i, i + 100);
    await openJobs.reserve(
      DEFAULT_TENANT,
      chunk.map((j) => j.id),
      10_000_000,
    );
    await queue.addBulk(chunk.map((j) => classifyJob(config, j)));
  }
}
