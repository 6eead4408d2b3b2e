import { defineParitySuite } from './parity_suite';

// tfjs-backend-wasm lacks Conv2DBackpropFilter and DepthwiseConv2dNativeBackprop*: the core's gradients go
// through the kernels src/backend/wasm_grad_kernels.ts registers (initNodeBackend('wasm') does it);
// grid_sample runs as host loops ('auto').
defineParitySuite('wasm', 'auto', ' (registered wasm conv gradient kernels)');
