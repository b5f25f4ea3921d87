/**
 * The result shape every surface returns (pool, CLI, job return value, S3 result document, API). Bump
 * RESULT_SCHEMA_VERSION on any incompatible change.
 */
export const RESULT_SCHEMA_VERSION = 1;

export interface ModelRef {
  name: string;
  version: string;
  sha256: string;
}

export interface LabelScore {
  name: string;
  /** In [0, 1]. */
  confidence: number;
}

/** A box in normalised image coordinates: x, y of the top-left corner, all in [0, 1] of the original image. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Instance {
  label: string;
  confidence: number;
  box: Box;
}

export interface ModelResult {
  model: ModelRef;
  /** Sorted by confidence, highest first. For detectors: the best instance score per class. */
  labels: LabelScore[];
  /** Detectors only. */
  instances?: Instance[];
}
