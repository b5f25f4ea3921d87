import { ModelConversionError, UnsupportedLayerError } from '../errors.ts';
import type { AttributeValue, GraphBuilder } from '../onnx/graph-builder.ts';
import type { KerasLayer } from './topology.ts';
import type { Weight } from './weights.ts';

/**
 * A Keras tensor as it lives in the ONNX graph. `shape` is the Keras (channels-last) shape with `null` for the
 * batch and any other unknown dimension. Layout rule of the converter: every rank-4 tensor is stored NCHW in
 * ONNX (so Conv/Pool/BatchNormalization run natively), every other rank is stored in Keras order.
 */
export interface KTensor {
  name: string;
  shape: (number | null)[];
}

/** The conversion-wide state shared by all layer calls: the graph, the weights and constant caches. */
export class ConversionState {
  /** Weight names a layer read; used to report weights nobody consumed. */
  readonly usedWeights = new Set<string>();
  private readonly constants = new Map<string, string>();
  private readonly layerInitializers = new Map<string, string>();

  constructor(
    readonly builder: GraphBuilder,
    readonly weights: Map<string, Weight>,
  ) {}

  /** A float32 scalar constant, shared by every node that needs the same value. */
  floatScalar(value: number): string {
    const key = `f32:${Object.is(value, -0) ? '-0' : String(value)}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      name = this.builder.addFloatInitializer(
        `const/f32_${String(value).replace(/[^0-9a-z]/gi, '_')}`,
        Float32Array.of(value),
        [],
      );
      this.constants.set(key, name);
    }
    return name;
  }

  /** An int64 vector constant (shapes, pads), shared by every node that needs the same values. */
  int64Vector(values: readonly number[]): string {
    const key = `i64:${values.join(',')}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      name = this.builder.addInt64Initializer('const/i64', values);
      this.constants.set(key, name);
    }
    return name;
  }

  /** An initializer owned by a layer; a shared layer (called several times) creates it once. */
  layerInitializer(
    layerName: string,
    key: string,
    make: () => { data: Float32Array; dims: number[] },
  ): string {
    const cacheKey = `${layerName}\u0000${key}`;
    let name = this.layerInitializers.get(cacheKey);
    if (name === undefined) {
      const { data, dims } = make();
      name = this.builder.addFloatInitializer(`${layerName}/${key}`, data, dims);
      this.layerInitializers.set(cacheKey, name);
    }
    return name;
  }
}

/** Everything a layer handler needs for one call of one layer. */
export class LayerCall {
  constructor(
    readonly state: ConversionState,
    readonly layer: KerasLayer,
    readonly inputs: KTensor[],
  ) {}

  get className(): string {
    return this.layer.className;
  }
  get name(): string {
    return this.layer.name;
  }
  get config(): Record<string, unknown> {
    return this.layer.config;
  }
  get builder(): GraphBuilder {
    return this.state.builder;
  }

  unsupported(option: string, reason: string): never {
    throw new UnsupportedLayerError(this.className, this.name, option, reason);
  }

  /** The single input of a one-input layer. */
  input(): KTensor {
    if (this.inputs.length !== 1) {
      throw new ModelConversionError(
        `${this.className} layer "${this.name}" expects 1 input, got ${this.inputs.length}`,
      );
    }
    return this.inputs[0]!;
  }

  /** Emits one node with a fresh output named `<layer>/<suffix>`. */
  op(
    opType: string,
    inputs: string[],
    suffix: string,
    attributes: Record<string, AttributeValue> = {},
  ): string {
    return this.builder.op(opType, inputs, `${this.name}/${suffix}`, attributes);
  }

  /**
   * The layer's weight `<layer name>/<param>` (e.g. `conv1/kernel`). Checks its shape against `expected`
   * (`null` entries are not checked) and marks it used.
   */
  weight(param: string, expected?: readonly (number | null)[]): Weight {
    const key = `${this.name}/${param}`;
    const weight = this.state.weights.get(key);
    if (!weight) {
      throw new ModelConversionError(
        `${this.className} layer "${this.name}": weight ${key} is missing from the weights manifest`,
        {
          layerName: this.name,
          weight: key,
        },
      );
    }
    if (
      expected &&
      (weight.shape.length !== expected.length ||
        expected.some((d, i) => d !== null && d !== weight.shape[i]))
    ) {
      throw new ModelConversionError(
        `${this.className} layer "${this.name}": weight ${key} has shape [${weight.shape.join(', ')}], ` +
          `the layer config implies [${expected.map((d) => d ?? '?').join(', ')}]`,
        { layerName: this.name, weight: key },
      );
    }
    this.state.usedWeights.add(key);
    return weight;
  }

  /** A float initializer owned by this layer (created once even when the layer is shared). */
  initializer(key: string, make: () => { data: Float32Array; dims: number[] }): string {
    return this.state.layerInitializer(this.name, key, make);
  }

  // --- config readers: each rejects a value of the wrong type with an error naming the option -------------

  has(key: string): boolean {
    return this.config[key] !== undefined && this.config[key] !== null;
  }

  str(key: string, fallback?: string): string {
    const v = this.config[key] ?? fallback;
    if (typeof v !== 'string') this.unsupported(key, `option ${key} = ${JSON.stringify(v)} is not a string`);
    return v;
  }

  num(key: string, fallback?: number): number {
    const v = this.config[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v))
      this.unsupported(key, `option ${key} = ${JSON.stringify(v)} is not a number`);
    return v;
  }

  int(key: string, fallback?: number): number {
    const v = this.num(key, fallback);
    if (!Number.isInteger(v)) this.unsupported(key, `option ${key} = ${v} is not an integer`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.config[key] ?? fallback;
    if (typeof v !== 'boolean')
      this.unsupported(key, `option ${key} = ${JSON.stringify(v)} is not a boolean`);
    return v;
  }

  /** An axis: an integer, or a list holding one (Keras writes BatchNormalization's axis either way). */
  axis(key: string, fallback?: number): number {
    const raw: unknown = this.config[key] ?? fallback;
    const v: unknown = Array.isArray(raw) && raw.length === 1 ? (raw as unknown[])[0] : raw;
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      this.unsupported(key, `option ${key} = ${JSON.stringify(raw)} is not supported (one integer axis)`);
    }
    return v;
  }

  /** A 2-D size given as an integer or a pair (`kernel_size`, `strides`, `pool_size`, ...). */
  pair(key: string, fallback?: [number, number]): [number, number] {
    const v = this.config[key] ?? fallback;
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return [v, v];
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      v.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)
    ) {
      return [v[0] as number, v[1] as number];
    }
    return this.unsupported(
      key,
      `option ${key} = ${JSON.stringify(v)} is not a positive integer or a pair of them`,
    );
  }

  /** Only channels_last (Keras' default, what TF.js writes) is supported. */
  requireChannelsLast(): void {
    const format = this.config.data_format;
    if (format !== undefined && format !== null && format !== 'channels_last') {
      this.unsupported(
        'data_format',
        `data_format ${JSON.stringify(format)} is not supported (only channels_last)`,
      );
    }
  }

  /** The input must have rank `rank` (checked on the Keras shape). */
  requireRank(x: KTensor, ...ranks: number[]): void {
    if (!ranks.includes(x.shape.length)) {
      this.unsupported(
        'input_shape',
        `input of rank ${x.shape.length} is not supported (expected rank ${ranks.join(' or ')})`,
      );
    }
  }
}
