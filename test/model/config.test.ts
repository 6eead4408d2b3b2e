/** Config values as the workers pass them: a parsed ModelConfig parses back to itself; none gives the defaults. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MODEL_CONFIG,
  defaultParsedConfig,
  parsedConfigOrDefault,
  parseModelConfigWithInfo,
} from '../../src/model/config';

describe('parsedConfigOrDefault', () => {
  it('a parsed config, every key set, parses back to the same config', () => {
    const json = {
      layers: 3,
      input_kern: 9,
      hidden_kern: [5, 3],
      hidden_channels: [16, 32],
      pad_input: true,
      depth_separable: false,
      stack: [1, 2],
      linear: false,
      final_nonlinearity: false,
      batch_norm: [true, false, true],
      elu_offset: -1,
      gauss_type: 'uncorrelated',
      grid_mean_predictor: {
        type: 'cortex',
        input_dimensions: 3,
        hidden_layers: 2,
        hidden_features: 8,
        final_tanh: false,
      },
      input_shape: [2, 18, 32],
      momentum: null,
      stride: 1,
      input_stride: 2,
      hidden_dilation: 1,
      hidden_padding: null,
      init_mu_range: 0.2,
      init_sigma: 0.3,
      gamma_readout: 0.01,
      gamma_input: 5,
      gamma_hidden: 0.1,
    };
    const once = parseModelConfigWithInfo(json, 'c.json');
    expect(once.ignored).toEqual([]);
    const twice = parsedConfigOrDefault(structuredClone(once.config));
    expect(twice.config).toEqual(once.config);
    expect(twice.ignored).toEqual([]);
  });

  it('null gives a copy of the defaults with nothing given', () => {
    const p = parsedConfigOrDefault(null);
    expect(p).toEqual(defaultParsedConfig());
    expect(p.config).toEqual(DEFAULT_MODEL_CONFIG);
    expect(p.config).not.toBe(DEFAULT_MODEL_CONFIG);
    expect(p.given).toEqual([]);
  });
});
