import { ERROR_CODES, isErrorCode, type ErrorCode } from './codes.ts';

export interface LabelqErrorOptions {
  /** The underlying error, kept for logs; never sent to clients. */
  cause?: unknown;
  /** Overrides the code's default retryability (e.g. a 5xx from S3 is retryable, a 404 is not). */
  retryable?: boolean;
  /** Extra machine-readable context, safe to show to clients. */
  details?: Record<string, unknown>;
}

/** An error with a stable `code`, an HTTP `status` and whether retrying can help. */
export class LabelqError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options: LabelqErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].message, { cause: options.cause });
    this.name = 'LabelqError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.details = options.details;
  }

  /** A plain object that survives structured clone (worker threads) and JSON. */
  toJSON(): SerializedError {
    return { code: this.code, message: this.message, retryable: this.retryable, details: this.details };
  }
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown> | undefined;
}

/**
 * Turns anything thrown (including errors that crossed a worker-thread boundary and lost their class) back
 * into a LabelqError; unknown errors become `internal`.
 */
export function toLabelqError(err: unknown): LabelqError {
  if (err instanceof LabelqError) return err;
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; message?: unknown; retryable?: unknown; details?: unknown };
    if (isErrorCode(e.code)) {
      return new LabelqError(e.code, typeof e.message === 'string' ? e.message : undefined, {
        cause: err,
        ...(typeof e.retryable === 'boolean' ? { retryable: e.retryable } : {}),
        ...(typeof e.details === 'object' && e.details !== null
          ? { details: e.details as Record<string, unknown> }
          : {}),
      });
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return new LabelqError('internal', message, { cause: err });
}
