import { defineParitySuite } from './parity_suite';

// The path GPU backends take: grid_sample from tfjs ops (gather, scatterND), checked here on wasm.
defineParitySuite('wasm', 'ops', ' (grid_sample from tfjs ops, registered wasm conv gradient kernels)');
