export { GraphBuilder, float, type AttributeValue, type Dim } from './onnx/graph-builder.ts';
export { DataType } from './onnx/onnx-proto.ts';
export * from './graph/index.ts';
