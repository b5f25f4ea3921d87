import type { BatchStore, ControlQueue } from '@labelq/batch';
import type { ObjectStore } from '@labelq/storage';

/** What the batch routes need: the batches in Redis, the control queue the batch role consumes, and S3. */
export interface BatchApiDeps {
  store: BatchStore;
  control: ControlQueue;
  /** The results bucket (item pages, result documents). */
  s3: ObjectStore;
}
