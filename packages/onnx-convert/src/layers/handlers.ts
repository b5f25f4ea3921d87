// The registry of Keras layer classes the converter understands; each handler lives with its kind.
import { activationLayer, eluLayer, leakyRelu, reluLayer, softmaxLayer } from './activations.ts';
import { conv2d, depthwiseConv2d, globalPooling, pooling, separableConv2d } from './conv.ts';
import {
  batchNormalization,
  concatenate,
  dense,
  flatten,
  identity,
  merge,
  reshape,
  zeroPadding2d,
} from './core.ts';
import type { LayerHandler } from './layout.ts';

export type { LayerHandler } from './layout.ts';
export { activate } from './activations.ts';
export { onnxAxis } from './layout.ts';

/** Every Keras layer class the converter understands (InputLayer is handled by the converter itself). */
export const LAYER_HANDLERS: Readonly<Record<string, LayerHandler>> = {
  Conv2D: conv2d,
  Convolution2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  SeparableConvolution2D: separableConv2d,
  BatchNormalization: batchNormalization,
  Activation: activationLayer,
  ReLU: reluLayer,
  LeakyReLU: leakyRelu,
  ELU: eluLayer,
  Softmax: softmaxLayer,
  ZeroPadding2D: zeroPadding2d,
  MaxPooling2D: pooling('MaxPool'),
  MaxPool2D: pooling('MaxPool'),
  AveragePooling2D: pooling('AveragePool'),
  AvgPool2D: pooling('AveragePool'),
  GlobalAveragePooling2D: globalPooling('GlobalAveragePool'),
  GlobalAvgPool2D: globalPooling('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPooling('GlobalMaxPool'),
  GlobalMaxPool2D: globalPooling('GlobalMaxPool'),
  Add: merge('Add'),
  Subtract: merge('Sub'),
  Multiply: merge('Mul'),
  Average: merge('Mean'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Concatenate: concatenate,
  Dense: dense,
  Flatten: flatten,
  Reshape: reshape,
  Dropout: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  ActivityRegularization: identity,
};
