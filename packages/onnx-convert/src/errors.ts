import { LabelqError } from '@labelq/errors';

/**
 * A Keras layer (or one of its options) that the layers-model converter cannot express in ONNX. The message
 * names the layer class, the layer's name in the model and the offending option, e.g.
 * `Conv2D layer "conv_3": padding 'causal' is not supported`. Code: `model_unsupported`.
 */
export class UnsupportedLayerError extends LabelqError {
  readonly layerClass: string;
  readonly layerName: string;
  /** The config key (or `class_name` for an unknown layer type) that could not be converted. */
  readonly option: string;

  constructor(layerClass: string, layerName: string, option: string, reason: string) {
    super('model_unsupported', `${layerClass} layer "${layerName}": ${reason}`, {
      details: { layerClass, layerName, option },
    });
    this.name = 'UnsupportedLayerError';
    this.layerClass = layerClass;
    this.layerName = layerName;
    this.option = option;
  }
}

/**
 * The model as a whole cannot be converted: a malformed or inconsistent file (missing or unused weights, weight
 * shapes that disagree with the layer config, a broken topology) or a model shape we do not handle (several
 * inputs or outputs). Code: `model_unsupported`.
 */
export class ModelConversionError extends LabelqError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('model_unsupported', message, { details });
    this.name = 'ModelConversionError';
  }
}
