/** The readout vocabulary's layout helpers. */
import { describe, expect, it } from 'vitest';
import {
  channelMajorFeatures,
  GAUSS_TYPES,
  gaussTypeOfSigmaShape,
  neuronMajorFeatures,
  sigmaShape,
  sigmaSize,
} from '../../src/model/readout_types';

describe('readout_types', () => {
  it('features: (C, N) <-> (N, C), each the inverse of the other', () => {
    const C = 3,
      N = 4;
    const cn = Float32Array.from({ length: C * N }, (_, i) => i); // cn[c * N + n] = c * N + n
    const nc = neuronMajorFeatures(cn, C, N);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) expect(nc[n * C + c]).toBe(c * N + n);
    expect(Array.from(channelMajorFeatures(nc, N, C))).toEqual(Array.from(cn));
  });

  it('sigma: the PyTorch shape per gauss type, its size per neuron, and back from the shape', () => {
    for (const g of GAUSS_TYPES) {
      const s = sigmaShape(g, 5);
      expect(s.slice(2).reduce((a, b) => a * b, 1)).toBe(sigmaSize(g));
      expect(gaussTypeOfSigmaShape(s)).toBe(g);
    }
    expect(gaussTypeOfSigmaShape([1, 5, 2, 1])).toBeNull();
    expect(gaussTypeOfSigmaShape([5, 2, 2])).toBeNull();
  });
});
