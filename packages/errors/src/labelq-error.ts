import { ERROR_CODES, isErrorCode, type ErrorCode } from './codes.ts';

export interface LabelqErrorOptions {
  /** The underlying error, kept for logs; never sent to clients. */
  cause?: unknown;
  /** Extra machine-readable context, safe to show to clients. */
  details?: Record<string, unknown>;
}

/**
 * An error with a stable `code`. The code alone decides the HTTP `status` and whether retrying can help
 * (`retryable`), from the registry in codes.ts: a new situation gets a new code, never an override here.
 */
export class LabelqError extends Error {
  readonly code: ErrorCode;
  /** The code's HTTP status. */
  readonly status: number;
  /** The code's retryability. */
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options: LabelqErrorOptions = {}) {
    super(message ?? ERROR_CODES[code].message, { cause: options.cause });
    this.name = 'LabelqError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryable = ERROR_CODES[code].retryable;
    this.details = options.details;
  }

  /** A plain object that survives structured clone (worker threads) and JSON. */
  toJSON(): SerializedError {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export interface SerializedError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown> | undefined;
}

/**
 * Turns anything thrown (including errors that crossed a worker-thread boundary and lost their class) back
 * into a LabelqError; unknown errors become `internal`.
 */
export function toLabelqError(err: unknown): LabelqError {
  if (err instanceof LabelqError) return err;
  if (typeof err === 'object' && err !== null) {
    const e = err as { code?: unknown; message?: unknown; details?: unknown };
    if (isErrorCode(e.code)) {
      return new LabelqError(e.code, typeof e.message === 'string' ? e.message : undefined, {
        cause: err,
        ...(typeof e.details === 'object' && e.details !== null
          ? { details: e.details as Record<string, unknown> }
          : {}),
      });
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return new LabelqError('internal', message, { cause: err });
}
