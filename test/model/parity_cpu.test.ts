import { defineParitySuite } from './parity_suite';

// cpu has every backprop kernel: tfjs' own conv gradients are used; grid_sample runs as host loops ('auto').
defineParitySuite('cpu', 'auto', ' (native tfjs conv gradients)');
