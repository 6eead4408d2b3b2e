/** Architecture inference from state_dict keys and shapes, and config parsing: errors must name layer and shapes. */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type HostTensor, InputError, type StateDict } from '../../src/io/host_tensor';
import { describeArchitecture, inferArchitecture } from '../../src/model/architecture';
import { DEFAULT_MODEL_CONFIG, type ModelConfig, parseModelConfig, parseModelConfigText } from '../../src/model/config';
import { FIXTURE, fixtureStateDict } from './fixture';

let base: StateDict;
beforeAll(async () => {
  base = await fixtureStateDict();
});

const R = 'readout.26872-17-20.';
const zeros = (shape: number[]): HostTensor => ({
  dtype: 'float32',
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});
const edit = (f: (sd: StateDict) => void): StateDict => {
  const sd = new Map(base);
  f(sd);
  return sd;
};
const cfg = (over: Partial<ModelConfig> = {}): ModelConfig => ({
  ...(structuredClone(DEFAULT_MODEL_CONFIG) as ModelConfig),
  ...over,
});

function errorOf(sd: StateDict, config = cfg()): string {
  try {
    inferArchitecture(sd, config, 'model.pth');
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('architecture of the sensorium-sota checkpoint', () => {
  it('reads layers, kernels, channels, stack and the readout from the weights', () => {
    const a = inferArchitecture(base, cfg(), 'model.pth');
    expect(a.core.layers.map((l) => l.kind)).toEqual(['conv', 'depth_separable', 'depth_separable', 'depth_separable']);
    expect(a.core.layers[0].convs[0].kernel).toEqual([9, 9]);
    expect(a.core.layers[0].convs[0].padding).toEqual([0, 0]);
    expect(a.core.layers[1].convs[1]).toMatchObject({ kernel: [7, 7], groups: 64, padding: [3, 3], biasKey: null });
    expect(a.core.layers.every((l) => l.batchNorm?.affine && l.elu)).toBe(true);
    expect(a.core.stack).toEqual([3]);
    expect(a.core.outputShape).toEqual([64, 28, 56]);
    expect(a.readouts).toHaveLength(1);
    expect(a.readouts[0]).toMatchObject({
      key: '26872-17-20',
      neurons: 7776,
      channels: 64,
      gaussType: 'full',
      bias: true,
    });
    expect(a.readouts[0].positionNetwork).toEqual({
      inputDimensions: 2,
      finalTanh: true,
      linears: [
        { index: 0, inFeatures: 2, outFeatures: 30 },
        { index: 2, inFeatures: 30, outFeatures: 2 },
      ],
    });
    expect(a.defaultReadout).toBe('26872-17-20');
    expect(describeArchitecture(a).join('\n')).toContain('7776 neurons');
  });

  it('follows the config for what weights cannot tell (pad_input, final_nonlinearity, linear, stack)', () => {
    const a = inferArchitecture(
      base,
      cfg({ pad_input: true, final_nonlinearity: false, input_shape: [1, 36, 64] }),
      'm',
    );
    expect(a.core.layers[0].convs[0].padding).toEqual([4, 4]);
    expect(a.core.outputShape).toEqual([64, 36, 64]);
    expect(a.core.layers.map((l) => l.elu)).toEqual([true, true, true, false]);
    expect(inferArchitecture(base, cfg({ linear: true }), 'm').core.layers.some((l) => l.elu)).toBe(false);
  });
});

describe('architecture errors name the layer and the shapes', () => {
  it('a missing BatchNorm statistic', () => {
    const msg = errorOf(edit((sd) => sd.delete('core.features.layer2.norm.running_var')));
    expect(msg).toMatch(/^model\.pth: /);
    expect(msg).toContain('core layer 2');
    expect(msg).toContain("missing 'core.features.layer2.norm.running_var'");
  });

  it('a missing conv', () => {
    const msg = errorOf(edit((sd) => sd.delete('core.features.layer1.ds_conv.out_depth_conv.weight')));
    expect(msg).toContain("core layer 1: missing 'core.features.layer1.ds_conv.out_depth_conv.weight'");
  });

  it('a depthwise kernel with the wrong channel count', () => {
    const msg = errorOf(edit((sd) => sd.set('core.features.layer1.ds_conv.spatial_conv.weight', zeros([32, 1, 7, 7]))));
    expect(msg).toContain('core layer 1');
    expect(msg).toContain('(32, 1, 7, 7)');
    expect(msg).toContain('expected (64, 1, 7, 7)');
  });

  it('a conv whose input channels do not match the previous layer', () => {
    const msg = errorOf(
      edit((sd) => sd.set('core.features.layer3.ds_conv.in_depth_conv.weight', zeros([64, 48, 1, 1]))),
    );
    expect(msg).toContain(
      "core layer 3: 'core.features.layer3.ds_conv.in_depth_conv.weight' has shape (64, 48, 1, 1), expected (64, 64, 1, 1)",
    );
  });

  it('a BatchNorm vector of the wrong length', () => {
    const msg = errorOf(edit((sd) => sd.set('core.features.layer0.norm.weight', zeros([32]))));
    expect(msg).toContain("core layer 0: 'core.features.layer0.norm.weight' has shape (32,), expected (64,)");
  });

  it('readout shapes that disagree', () => {
    expect(errorOf(edit((sd) => sd.set(`${R}bias`, zeros([7775]))))).toContain(
      `readout '26872-17-20': '${R}bias' has shape (7775,), expected (7776,)`,
    );
    expect(errorOf(edit((sd) => sd.set(`${R}sigma`, zeros([1, 7776, 2, 3]))))).toContain(
      '(1, 7776, 2, 3), expected (1, 7776, 2, 2) (full)',
    );
    expect(errorOf(edit((sd) => sd.set(`${R}mu_transform.2.weight`, zeros([2, 20]))))).toContain(
      "'readout.26872-17-20.mu_transform.2.weight' has shape (2, 20), expected (2, 30)",
    );
    expect(errorOf(edit((sd) => sd.set(`${R}_features`, zeros([1, 32, 1, 7776]))))).toContain(
      'has 32 channels, but the core outputs 64',
    );
    expect(errorOf(edit((sd) => sd.delete(`${R}source_grid`)))).toContain("no 'readout.26872-17-20.source_grid'");
  });

  it('a stack the readout does not fit', () => {
    expect(errorOf(base, cfg({ stack: null }))).toContain(
      'has 64 channels, but the core outputs 256 (layers 0, 1, 2, 3 stacked',
    );
  });

  it('unexpected keys, with what they probably are', () => {
    const msg = errorOf(
      edit((sd) => {
        sd.set('shifter.26872-17-20.mlp.0.weight', zeros([5, 2]));
        sd.set('core.features.layer0.extra', zeros([1]));
      }),
    );
    expect(msg).toContain("unexpected key 'shifter.26872-17-20.mlp.0.weight' (a shifter network");
    expect(msg).toContain("unexpected key 'core.features.layer0.extra'");
  });

  it('an image too small for the kernels', () => {
    expect(errorOf(base, cfg({ input_shape: [1, 8, 8] }))).toContain(
      'core layer 0: an input of 8x8 pixels (config input_shape) shrinks to nothing',
    );
  });

  it('no core at all', () => {
    const sd: StateDict = new Map([...base].filter(([k]) => k.startsWith('readout.')));
    expect(errorOf(sd)).toContain('no core found');
  });
});

describe('readout variants', () => {
  it('several readouts: all listed, the first is the default, with a note', () => {
    const sd = edit((s) => {
      for (const [k, v] of base) if (k.startsWith(R)) s.set(k.replace(R, 'readout.second-scan.'), v);
    });
    const a = inferArchitecture(sd, cfg(), 'm');
    expect(a.readouts.map((r) => r.key)).toEqual(['26872-17-20', 'second-scan']);
    expect(a.defaultReadout).toBe('26872-17-20');
    expect(a.notes.join(' ')).toContain("the default is the first, '26872-17-20'");
  });

  it('gauss type from the sigma shape; free means instead of a position network', () => {
    const sd = edit((s) => {
      for (const k of [...s.keys()]) if (k.startsWith(`${R}mu_transform`) || k === `${R}source_grid`) s.delete(k);
      s.set(`${R}_mu`, zeros([1, 7776, 1, 2]));
      s.set(`${R}sigma`, zeros([1, 7776, 1, 2]));
    });
    const a = inferArchitecture(sd, cfg(), 'm');
    expect(a.readouts[0]).toMatchObject({ gaussType: 'uncorrelated', positionNetwork: null });
    sd.set(`${R}sigma`, zeros([1, 7776, 1, 1]));
    expect(inferArchitecture(sd, cfg(), 'm', ['gauss_type']).readouts[0].gaussType).toBe('isotropic');
    expect(inferArchitecture(sd, cfg(), 'm', ['gauss_type']).notes.join(' ')).toContain(
      "config says gauss_type='full'",
    );
  });

  it('plain hidden convs with biases, non-affine BatchNorm with Bias2D', () => {
    const sd: StateDict = new Map();
    sd.set('core.features.layer0.conv.weight', zeros([8, 1, 5, 5]));
    sd.set('core.features.layer0.norm.running_mean', zeros([8]));
    sd.set('core.features.layer0.norm.running_var', zeros([8]));
    sd.set('core.features.layer0.bias.bias', zeros([1, 8, 1, 1]));
    sd.set('core.features.layer1.conv.weight', zeros([6, 8, 3, 3]));
    sd.set('core.features.layer1.conv.bias', zeros([6]));
    sd.set('readout.a._features', zeros([1, 6, 1, 10]));
    sd.set('readout.a._mu', zeros([1, 10, 1, 2]));
    sd.set('readout.a.sigma', zeros([1, 10, 2, 2]));
    const a = inferArchitecture(sd, cfg({ input_shape: [1, 20, 30] }), 'm');
    expect(a.core.layers[0]).toMatchObject({
      kind: 'conv',
      batchNorm: { affine: false },
      biasKey: 'core.features.layer0.bias.bias',
      outHeight: 16,
      outWidth: 26,
    });
    expect(a.core.layers[1]).toMatchObject({
      kind: 'conv',
      batchNorm: null,
      outChannels: 6,
      outHeight: 16,
      outWidth: 26,
    });
    expect(a.core.layers[1].convs[0]).toMatchObject({ biasKey: 'core.features.layer1.conv.bias', padding: [1, 1] });
    expect(a.readouts[0]).toMatchObject({ neurons: 10, bias: false, positionNetwork: null });
  });
});

describe('model config', () => {
  it('DEFAULT_MODEL_CONFIG equals the fixture config.json', () => {
    const json = JSON.parse(readFileSync(FIXTURE + 'config.json', 'utf8'));
    expect(parseModelConfig(json, 'config.json')).toEqual(DEFAULT_MODEL_CONFIG);
    expect(json).toEqual(JSON.parse(JSON.stringify(DEFAULT_MODEL_CONFIG)));
  });

  it('fills missing keys with the defaults and lists keys it does not use', () => {
    const p = parseModelConfigText(
      '{"elu_offset": -1, "gamma_readout": 0.0076, "seed": 42, "readout_bias": true}',
      'c.json',
    );
    expect(p.config.elu_offset).toBe(-1);
    expect(p.config.layers).toBe(4);
    expect(p.given.sort()).toEqual(['elu_offset', 'gamma_readout']);
    expect(p.ignored.sort()).toEqual(['readout_bias', 'seed']);
  });

  it('rejects wrong types and unsupported options, naming the file and the key', () => {
    const bad: [unknown, string][] = [
      [{ layers: 'four' }, "config key 'layers' must be an integer >= 1"],
      [{ gauss_type: 'diagonal' }, "config key 'gauss_type' must be 'full', 'uncorrelated' or 'isotropic'"],
      [{ input_shape: [1, 36] }, "config key 'input_shape' must be a list [channels, height, width]"],
      [{ grid_mean_predictor: { type: 'shared' } }, 'grid_mean_predictor.type "shared" is not supported'],
      [{ skip: 2 }, "config key 'skip' = 2 is not supported"],
      [{ elu_offset: null }, "config key 'elu_offset' must be a finite number"],
      [[1, 2], 'a model config must be a JSON object'],
    ];
    for (const [json, msg] of bad) {
      expect(() => parseModelConfig(json, 'c.json')).toThrow(InputError);
      expect(() => parseModelConfig(json, 'c.json')).toThrow(`c.json: ${msg}`);
    }
    expect(() => parseModelConfigText('{"layers": 4,', 'c.json')).toThrow('c.json: not valid JSON');
  });
});
