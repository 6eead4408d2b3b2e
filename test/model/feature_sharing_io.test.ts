/**
 * Checkpoints with shared features that are not right are refused in words naming the key (model/architecture.ts):
 * an index outside the shared vectors, a lone scales or index, scales of the wrong shape, a readout whose
 * `_features` differ from the group's first, readouts of two kinds in one group; a shared grid stays unsupported.
 * Built by editing the neuralpredictors fixture test/fixtures/feature_sharing/gaussian/model.pth.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HostTensor, StateDict } from '../../src/io/host_tensor';
import { readCheckpoint } from '../../src/io/torch_checkpoint';
import { inferArchitecture } from '../../src/model/architecture';
import { parseModelConfigWithInfo } from '../../src/model/config';
import { FIXTURES } from '../fixtures/paths';

const DIR = `${FIXTURES}/feature_sharing`;

async function load(kind: string) {
  const sd = await readCheckpoint(new Uint8Array(readFileSync(`${DIR}/${kind}/model.pth`)), 'model.pth');
  const { config } = parseModelConfigWithInfo(JSON.parse(readFileSync(`${DIR}/${kind}/config.json`, 'utf8')), 'c');
  const errorOf = (edit: (s: StateDict) => void): string => {
    const copy: StateDict = new Map(sd);
    edit(copy);
    try {
      inferArchitecture(copy, config, 'model.pth');
      return 'no error';
    } catch (e) {
      return (e as Error).message;
    }
  };
  return { sd, config, errorOf };
}

const int64 = (v: number[]): HostTensor => ({
  dtype: 'int64',
  shape: [v.length],
  data: BigInt64Array.from(v, (x) => BigInt(x)),
});
const f32 = (shape: number[], fill = 0): HostTensor => ({
  dtype: 'float32',
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill),
});

describe('shared-feature checkpoints that are not right', () => {
  it('Gaussian: bad index, lone keys, bad scales, features that differ, a shared grid', async () => {
    const { sd, config, errorOf } = await load('gaussian');
    const a = inferArchitecture(sd, config, 'model.pth');
    expect(a.readouts.map((r) => r.sharing?.original)).toEqual([true, false, false]);
    expect(errorOf((s) => s.set('readout.s1.feature_sharing_index', int64([0, 1, 2, 3, 4, 6])))).toContain(
      "readout 's1': 'readout.s1.feature_sharing_index' entry 5 is 6, outside the 6 shared feature vectors (0..5)",
    );
    expect(errorOf((s) => s.delete('readout.s1.scales'))).toContain(
      "shared features need both 'readout.s1.scales' and 'readout.s1.feature_sharing_index'",
    );
    expect(errorOf((s) => s.set('readout.s2.scales', f32([1, 1, 1, 6], 1)))).toContain(
      "'readout.s2.scales' has shape (1, 1, 1, 6), expected (1, 1, 1, 7)",
    );
    expect(errorOf((s) => s.set('readout.s2._features', f32([1, 6, 1, 6], 0.5)))).toContain(
      "readout 's2': shares features with readout 's0' (it has scales and feature_sharing_index), but its _features values differ",
    );
    expect(errorOf((s) => s.set('readout.s1.grid_sharing_index', int64([0, 1, 2, 3, 4, 5])))).toContain(
      'shared grids across readouts (share_grid) are not supported',
    );
  });

  it('a group of two kinds is refused', async () => {
    const g = await load('gaussian');
    const f = await load('factorized');
    const mixed: StateDict = new Map([...g.sd].filter(([k]) => !k.startsWith('readout.s1.')));
    for (const [k, v] of f.sd) if (k.startsWith('readout.s1.')) mixed.set(k, v);
    // the factorized readout's mask must fit the core: both fixtures' cores give 6x12x20 maps
    expect(() => inferArchitecture(mixed, g.config, 'model.pth')).toThrow(
      "readout 's1': shares features with readout 's0', a gaussian readout, but is factorized",
    );
  });
});
