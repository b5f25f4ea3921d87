export { ERROR_CODES, isErrorCode, type ErrorCode } from './codes.ts';
export { LabelqError, toLabelqError, type LabelqErrorOptions, type SerializedError } from './labelq-error.ts';
