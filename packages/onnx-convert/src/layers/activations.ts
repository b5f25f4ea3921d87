// Activations: as a layer option (`activation: 'relu'`) and as layers of their own (ReLU, Softmax, ...).
import { float } from '../onnx/graph-builder.ts';
import type { KTensor, LayerCall } from './context.ts';
import { onnxAxis } from './layout.ts';

// --- activations ---------------------------------------------------------------------------------------------

const SELU_ALPHA = 1.6732632423543772;
const SELU_GAMMA = 1.0507009873554805;

/**
 * Applies a Keras activation by name (the `activation` option of Conv2D/Dense/Activation...). Channel-wise
 * softmax runs over the channel axis: the last Keras axis, axis 1 of a stored-NCHW tensor.
 */
export function activate(call: LayerCall, x: KTensor, activation: unknown, option = 'activation'): KTensor {
  if (activation === undefined || activation === null || activation === 'linear') return x;
  const rank = x.shape.length;
  const out = (name: string): KTensor => ({ name, shape: x.shape });
  switch (activation) {
    case 'relu':
      return out(call.op('Relu', [x.name], 'relu'));
    case 'relu6':
      return out(call.op('Clip', [x.name, call.state.floatScalar(0), call.state.floatScalar(6)], 'relu6'));
    case 'sigmoid':
      return out(call.op('Sigmoid', [x.name], 'sigmoid'));
    case 'hard_sigmoid':
      // Keras/TF.js: clip(0.2 * x + 0.5, 0, 1).
      return out(call.op('HardSigmoid', [x.name], 'hard_sigmoid', { alpha: float(0.2), beta: float(0.5) }));
    case 'tanh':
      return out(call.op('Tanh', [x.name], 'tanh'));
    case 'softmax':
      return out(call.op('Softmax', [x.name], 'softmax', { axis: rank === 4 ? 1 : rank - 1 }));
    case 'elu':
      return out(call.op('Elu', [x.name], 'elu', { alpha: float(1) }));
    case 'selu':
      return out(call.op('Selu', [x.name], 'selu', { alpha: float(SELU_ALPHA), gamma: float(SELU_GAMMA) }));
    case 'softplus':
      return out(call.op('Softplus', [x.name], 'softplus'));
    case 'softsign':
      return out(call.op('Softsign', [x.name], 'softsign'));
    case 'exponential':
      return out(call.op('Exp', [x.name], 'exp'));
    case 'swish':
    case 'silu': {
      const s = call.op('Sigmoid', [x.name], 'swish_sigmoid');
      return out(call.op('Mul', [x.name, s], 'swish'));
    }
    default:
      return call.unsupported(option, `activation ${JSON.stringify(activation)} is not supported`);
  }
}

// --- activation layers ---------------------------------------------------------------------------------------

export function reluLayer(call: LayerCall): KTensor[] {
  const x = call.input();
  const maxValue = call.has('max_value') ? call.num('max_value') : null;
  const slope = call.num('negative_slope', 0);
  const threshold = call.num('threshold', 0);
  if (threshold !== 0) call.unsupported('threshold', `threshold = ${threshold} is not supported (only 0)`);
  if (slope === 0) {
    if (maxValue === null) return [{ name: call.op('Relu', [x.name], 'relu'), shape: x.shape }];
    const y = call.op(
      'Clip',
      [x.name, call.state.floatScalar(0), call.state.floatScalar(maxValue)],
      'relu_clip',
    );
    return [{ name: y, shape: x.shape }];
  }
  let y = call.op('LeakyRelu', [x.name], 'leaky_relu', { alpha: float(slope) });
  if (maxValue !== null) y = call.op('Min', [y, call.state.floatScalar(maxValue)], 'relu_max');
  return [{ name: y, shape: x.shape }];
}

export function softmaxLayer(call: LayerCall): KTensor[] {
  const x = call.input();
  const axis = call.axis('axis', -1);
  const y = call.op('Softmax', [x.name], 'softmax', { axis: onnxAxis(call, axis, x.shape.length, 'axis') });
  return [{ name: y, shape: x.shape }];
}

export function activationLayer(call: LayerCall): KTensor[] {
  return [activate(call, call.input(), call.config.activation)];
}

export function leakyRelu(call: LayerCall): KTensor[] {
  const x = call.input();
  // Keras' LeakyReLU default alpha is 0.3 (Keras 3 calls it negative_slope).
  const alpha = call.has('negative_slope') ? call.num('negative_slope') : call.num('alpha', 0.3);
  return [{ name: call.op('LeakyRelu', [x.name], 'leaky_relu', { alpha: float(alpha) }), shape: x.shape }];
}

export function eluLayer(call: LayerCall): KTensor[] {
  const x = call.input();
  return [{ name: call.op('Elu', [x.name], 'elu', { alpha: float(call.num('alpha', 1)) }), shape: x.shape }];
}
