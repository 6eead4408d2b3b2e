import { defineParitySuite } from './parity_suite';

// wasm lacks Conv2DBackpropFilter and DepthwiseConv2dNativeBackprop*: the core's gradients go through the
// portable formulas of src/model/conv_ops.ts, computed on wasm itself; grid_sample runs as host loops ('auto').
defineParitySuite('wasm', 'auto', ' (portable conv gradients, on wasm)');
