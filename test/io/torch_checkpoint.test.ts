import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, readCheckpointContents } from '../../src/io/torch_checkpoint';
import { SIM_TRUTH, SOTA as SOTA_DIR } from '../fixtures/paths';
import { diffTensors, hasTorch, runPy, tempDir, torchLoad } from './torch_reference';

const SOTA = join(SOTA_DIR, 'model.pth');
const TRUTH = join(SIM_TRUTH, 'truth_model.pth');

// Shapes as listed in test/fixtures/sensorium-sota/README.md.
function sotaExpected(readout: string, n: number): [string, string, number[]][] {
  const e: [string, string, number[]][] = [
    ['core._input_weights_regularizer.laplace.filter', 'float32', [1, 1, 3, 3]],
    ['core.features.layer0.conv.weight', 'float32', [64, 1, 9, 9]],
  ];
  const norm = (l: number) => {
    for (const p of ['weight', 'bias', 'running_mean', 'running_var'])
      e.push([`core.features.layer${l}.norm.${p}`, 'float32', [64]]);
    e.push([`core.features.layer${l}.norm.num_batches_tracked`, 'int64', []]);
  };
  norm(0);
  for (const l of [1, 2, 3]) {
    e.push([`core.features.layer${l}.ds_conv.in_depth_conv.weight`, 'float32', [64, 64, 1, 1]]);
    e.push([`core.features.layer${l}.ds_conv.spatial_conv.weight`, 'float32', [64, 1, 7, 7]]);
    e.push([`core.features.layer${l}.ds_conv.out_depth_conv.weight`, 'float32', [64, 64, 1, 1]]);
    norm(l);
  }
  const r = `readout.${readout}`;
  e.push(
    [`${r}.sigma`, 'float32', [1, n, 2, 2]],
    [`${r}._features`, 'float32', [1, 64, 1, n]],
    [`${r}.bias`, 'float32', [n]],
    [`${r}.source_grid`, 'float32', [n, 2]],
    [`${r}.mu_transform.0.weight`, 'float32', [30, 2]],
    [`${r}.mu_transform.0.bias`, 'float32', [30]],
    [`${r}.mu_transform.2.weight`, 'float32', [2, 30]],
    [`${r}.mu_transform.2.bias`, 'float32', [2]],
  );
  return e;
}

describe('readCheckpoint on the fixtures (zip format)', () => {
  for (const [file, readout, n] of [
    [SOTA, '26872-17-20', 7776],
    [TRUTH, 'static-sim-a', 1000],
  ] as const) {
    it(`${file.split('/').slice(-2).join('/')}: every key with the README's shape and dtype`, async () => {
      const c = await readCheckpointContents(readFileSync(file), file);
      expect(c.format).toBe('zip');
      const expected = sotaExpected(readout, n);
      expect([...c.stateDict.keys()].sort()).toEqual(expected.map((e) => e[0]).sort());
      for (const [k, dtype, shape] of expected) {
        const t = c.stateDict.get(k)!;
        expect({ k, dtype: t.dtype, shape: t.shape }).toEqual({ k, dtype, shape });
        expect(t.data.length).toBe(shape.reduce((a, b) => a * b, 1));
      }
    });

    it.skipIf(!hasTorch)(`${file.split('/').slice(-2).join('/')}: values identical to torch.load`, async () => {
      const sd = await readCheckpoint(readFileSync(file), file);
      const ref = torchLoad(file);
      expect([...sd.keys()]).toEqual([...ref.keys()]);
      for (const [k, t] of sd) expect(diffTensors(t, ref.get(k)!.tensor), k).toBeUndefined();
    });
  }

  it('reads from a Blob (browser File) as well as from bytes', async () => {
    const bytes = readFileSync(SOTA);
    const a = await readCheckpoint(bytes, 'model.pth');
    const b = await readCheckpoint(new Blob([bytes]), 'model.pth');
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, t] of a) expect(diffTensors(t, b.get(k)!), k).toBeUndefined();
  });
});

/** Our reading of a torch-written file against torch's own: float64 is compared after rounding to float32. */
function expectSameAsTorch(sd: Map<string, import('../../src/io/host_tensor').HostTensor>, path: string): void {
  const ref = torchLoad(path);
  expect([...sd.keys()]).toEqual([...ref.keys()]);
  for (const [k, t] of sd) {
    let r = ref.get(k)!.tensor;
    if (r.dtype === 'float64')
      r = { dtype: 'float32', shape: r.shape, data: Float32Array.from(r.data as Float64Array) };
    expect(diffTensors(t, r), `${path}: ${k}`).toBeUndefined();
  }
}

describe.skipIf(!hasTorch)('files written by torch.save (zip and legacy)', () => {
  let dir = '';
  let dispose = () => {};
  beforeAll(() => {
    ({ dir, dispose } = tempDir());
    runPy('make_torch_checkpoints.py', [dir]);
  });
  afterAll(() => dispose());

  for (const name of ['views', 'views_legacy', 'nested', 'nested_legacy', 'two_readouts', 'two_readouts_legacy']) {
    it(`${name}.pth reads as torch.load reads it`, async () => {
      const path = join(dir, `${name}.pth`);
      const c = await readCheckpointContents(readFileSync(path), `${name}.pth`);
      expect(c.format).toBe(name.endsWith('_legacy') ? 'legacy' : 'zip');
      expectSameAsTorch(c.stateDict, path);
      if (name.startsWith('views')) {
        // The views really were views in the file: one storage, offsets and strides (else this test proves little).
        expect(c.notes.join(' ')).toMatch(/converted 2 float64\/bfloat16/);
        expect(c.stateDict.get('transposed')!.shape).toEqual([7, 5]);
        expect(c.stateDict.get('half')!.dtype).toBe('float16');
        expect(c.stateDict.get('num_batches_tracked')!.dtype).toBe('int64');
      }
      if (name.startsWith('two_readouts')) {
        expect([...c.stateDict.keys()].filter((k) => k.startsWith('readout.a.')).length).toBe(3);
        expect([...c.stateDict.keys()].filter((k) => k.startsWith('readout.b.')).length).toBe(3);
      }
    });
  }
});
