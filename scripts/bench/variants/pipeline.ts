// Variants 2, "pipeline" and "pipeline-nsfw": labelq's worker with its default settings: images in S3, jobs
// through BullMQ, inference in the Piscina pool, result documents and tags written back.
import type { ChildResult, VariantSpec } from '../protocol.ts';

export function runPipeline(spec: VariantSpec): Promise<ChildResult> {
  // Placeholder until the worker runtime lands in services/worker.
  return Promise.reject(new Error(`${spec.name}: the worker runtime (@labelq/worker) is not available yet`));
}
