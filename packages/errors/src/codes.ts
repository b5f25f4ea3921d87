/**
 * The registry of stable error codes. A code never changes meaning once released: clients branch on it.
 * `status` is the HTTP status the API answers with; `retryable` says whether a queued job should be retried.
 */
export const ERROR_CODES = {
  // Input the client sent (poison for a job: never retried).
  image_decode_failed: { status: 422, retryable: false, message: 'The image could not be decoded' },
  image_too_large: { status: 422, retryable: false, message: 'The image has too many pixels' },
  image_empty: { status: 400, retryable: false, message: 'The image is empty (0 bytes)' },
  unsupported_format: { status: 415, retryable: false, message: 'The image format is not supported' },
  payload_too_large: { status: 413, retryable: false, message: 'The upload exceeds the size limit' },
  object_too_large: { status: 422, retryable: false, message: 'The S3 object exceeds the size limit' },
  object_not_found: { status: 404, retryable: false, message: 'The S3 object does not exist' },
  bucket_not_allowed: { status: 403, retryable: false, message: 'The bucket is not in the allow-list' },
  unknown_model: { status: 400, retryable: false, message: 'An unknown model was requested' },
  invalid_request: { status: 400, retryable: false, message: 'The request is invalid' },
  // The route does not take a body of this Content-Type (text/plain to /v1/jobs); unsupported_format is for
  // image bytes that are not an allowed image.
  unsupported_media_type: {
    status: 415,
    retryable: false,
    message: 'This route does not accept a body of this Content-Type',
  },
  // Refused by the HTTP parser before any route runs.
  headers_too_large: { status: 431, retryable: false, message: 'The request headers exceed the size limit' },
  request_timeout: { status: 408, retryable: false, message: 'The request was not received in time' },
  not_found: { status: 404, retryable: false, message: 'Not found' },
  // Access (API keys, scopes, limits).
  unauthenticated: { status: 401, retryable: false, message: 'A valid API key is required' },
  insufficient_scope: { status: 403, retryable: false, message: 'The API key lacks the scope this needs' },
  key_not_allowed: { status: 403, retryable: false, message: 'This S3 key may not be used as a source' },
  rate_limited: { status: 429, retryable: true, message: 'Too many requests for this API key' },
  tenant_queue_full: { status: 429, retryable: true, message: 'The tenant has too many open jobs' },
  tenant_forbidden: { status: 403, retryable: false, message: 'An API key acts for its own tenant only' },
  auth_disabled: { status: 409, retryable: false, message: 'API keys are disabled (AUTH_DISABLED=true)' },
  auth_not_configured: {
    status: 500,
    retryable: false,
    message: 'No usable API key exists and AUTH_DISABLED is not set',
  },
  // Configuration and model files (operator problems).
  config_invalid: { status: 500, retryable: false, message: 'The configuration is invalid' },
  manifest_invalid: { status: 500, retryable: false, message: 'A model manifest is invalid' },
  model_missing: { status: 500, retryable: false, message: 'A model file is missing' },
  model_unsupported: { status: 500, retryable: false, message: 'The converter does not support this model' },
  model_checksum_mismatch: {
    status: 500,
    retryable: false,
    message: 'A model file does not match its manifest',
  },
  redis_eviction_policy: {
    status: 500,
    retryable: false,
    message: 'Redis must use maxmemory-policy noeviction',
  },
  // Redis answered but would not say its eviction policy (CONFIG is forbidden on some managed services).
  redis_unsupported: { status: 500, retryable: false, message: 'Redis does not allow the start checks' },
  // Redis keeps neither an append-only file nor RDB snapshots: a restart loses every accepted job.
  redis_not_persistent: {
    status: 500,
    retryable: false,
    message: 'Redis does not persist its data (appendonly no, no save points)',
  },
  model_load_failed: { status: 500, retryable: false, message: 'A model could not be loaded' },
  // The model ran but its output is unusable (missing output, non-finite scores): the same input fails again.
  model_output_invalid: { status: 500, retryable: false, message: 'A model produced an invalid output' },
  // A result or failure document that is corrupt or of an unknown schema version.
  document_invalid: { status: 500, retryable: false, message: 'A stored result document is invalid' },
  // Object storage refused the request (access denied, bad request): repeating it cannot succeed.
  storage_rejected: { status: 502, retryable: false, message: 'Object storage refused the request' },
  // A bucket that does not exist: the operator's problem, never the client's missing object nor an outage.
  bucket_not_found: { status: 502, retryable: false, message: 'The bucket does not exist' },
  // A job that stalled more than MAX_STALLED_COUNT times: its worker died or hung while running it each time
  // (it may crash workers), so it is not run again.
  job_stalled: { status: 500, retryable: false, message: 'The job stalled too many times' },
  // Transient trouble (retried with backoff).
  storage_unavailable: { status: 503, retryable: true, message: 'Object storage is unavailable' },
  queue_unavailable: { status: 503, retryable: true, message: 'The queue is unavailable' },
  // The API holds API_MAX_UPLOAD_BYTES_IN_FLIGHT of upload bodies already: capacity, not an outage.
  uploads_busy: { status: 503, retryable: true, message: 'Too many uploads in flight: retry shortly' },
  // This API process's own event loop was too busy to read a dependency's answer in time (a flood of uploads):
  // its capacity, not an outage of Redis or S3, which answered.
  server_busy: { status: 503, retryable: true, message: 'The API is too busy right now: retry shortly' },
  inference_failed: { status: 500, retryable: true, message: 'Inference failed' },
  timeout: { status: 504, retryable: true, message: 'The operation timed out' },
  // Batches. `manifest_invalid` already names a bad model manifest, so batch manifests get codes of their own.
  manifest_line_invalid: {
    status: 422,
    retryable: false,
    message: 'A line of the batch manifest is not a valid entry',
  },
  manifest_unreadable: { status: 422, retryable: false, message: 'The batch manifest cannot be read' },
  // A batch item's job left the queue without recording an outcome (failed by BullMQ itself, or removed).
  job_lost: { status: 500, retryable: false, message: 'The job left the queue without an outcome' },
  batch_state_conflict: {
    status: 409,
    retryable: false,
    message: 'The batch is not in a state that allows this',
  },
  // The results index (Postgres): not configured (503, not retryable by a job) or unreachable (retryable).
  index_unavailable: { status: 503, retryable: true, message: 'The results index is unavailable' },
  index_not_configured: { status: 503, retryable: false, message: 'No results index (DATABASE_URL unset)' },
  // A search cursor that was altered, belongs to another tenant or to other filters.
  cursor_invalid: { status: 400, retryable: false, message: 'The cursor is invalid for this query' },
  // GET /v1/images/:id/similar on an image the index has no perceptual hash for (it failed, or was indexed
  // before image properties existed).
  no_perceptual_hash: { status: 409, retryable: false, message: 'The image has no perceptual hash' },
  // The API is shutting down (an event stream ended before its first event): another instance, or this one
  // restarted, answers the retry.
  server_stopping: { status: 503, retryable: true, message: 'The server is stopping; retry' },
  // A bug or an unforeseen failure: retrying the same work would most likely fail the same way.
  internal: { status: 500, retryable: false, message: 'Internal error' },
  // Moderation workflow (#10): waiting for answers, webhooks, the review queue, tenant policies.
  wait_invalid: { status: 400, retryable: false, message: 'wait must be a whole number of seconds in range' },
  webhook_url_invalid: { status: 400, retryable: false, message: 'The webhook URL is invalid' },
  // A loopback, private, link-local or metadata target not in WEBHOOK_ALLOWED_HOSTS.
  webhook_url_forbidden: {
    status: 400,
    retryable: false,
    message: 'The webhook URL targets a private address',
  },
  // The resolver could not answer for a webhook or callback host right now (EAI_AGAIN, timeout): not the URL's
  // fault, so retryable, unlike a name that does not exist (webhook_url_invalid).
  webhook_host_lookup_failed: {
    status: 503,
    retryable: true,
    message: 'The webhook host could not be looked up; try again',
  },
  webhook_not_found: { status: 404, retryable: false, message: 'No such webhook endpoint' },
  // The installation does not let this tenant name a callbackUrl (CALLBACK_URL_TENANTS).
  callback_not_allowed: {
    status: 403,
    retryable: false,
    message: 'Per-request callbackUrl is not enabled for this tenant',
  },
  // The installation allows callbacks but the tenant has not turned them on (no callback secret yet).
  callback_not_enabled: {
    status: 403,
    retryable: false,
    message:
      'Callbacks are off for this tenant: create its callback secret first (POST /v1/callbacks/secret)',
  },
  // A callbackUrl on a submission that joins a job another submission queued: that job's callback applies.
  callback_job_in_progress: {
    status: 409,
    retryable: false,
    message:
      'The image is already queued or running from another submission; its callbackUrl cannot be added',
  },
  // A delivery attempt that did not get a 2xx (timeout, refused, 5xx, redirect, huge body): retried per schedule.
  webhook_delivery_failed: { status: 502, retryable: true, message: 'The webhook receiver did not accept' },
  // The endpoint was disabled (after a run of failures, or deleted) while the delivery waited.
  webhook_endpoint_disabled: { status: 409, retryable: false, message: 'The webhook endpoint is disabled' },
  review_not_pending: { status: 409, retryable: false, message: 'The image is not in review' },
  review_already_decided: {
    status: 409,
    retryable: false,
    message: 'The image was already reviewed (send force: true to change the decision)',
  },
  // Another reviewer's decision on the same image is being recorded right now. A conflict, not trouble to retry
  // blindly (no 4xx but 429 is retryable): the reviewer reloads the image to see that decision.
  review_in_progress: {
    status: 409,
    retryable: false,
    message: 'Another decision on this image is being recorded; reload the image to see it',
  },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
