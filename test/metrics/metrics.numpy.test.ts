/** The metrics against an independent NumPy statement of the same formulas (numpy_metrics.py) on random data. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNpy } from '../../src/io/npy';
import { evaluate } from '../../src/metrics';
import { Rng } from '../../src/util/rng';
import { findNumpyPython } from './reference_python';

const py = findNumpyPython();
if ('reason' in py) console.log(`skipping NumPy comparison: ${py.reason}`);

describe.skipIf(!py.python)('metrics vs NumPy', () => {
  it('agree per neuron on random Poisson data with unequal repeat counts and unrepeated images', () => {
    const rng = new Rng(7);
    const neurons = 37;
    const ids: number[] = [];
    for (let img = 0; img < 25; img++) {
      const reps = img < 5 ? 1 : 2 + rng.int(9); // some images shown once, others 2..10 times
      for (let r = 0; r < reps; r++) ids.push(img);
    }
    rng.shuffle(ids);
    const trials = ids.length;
    const rate = Float64Array.from({ length: 25 * neurons }, () => rng.gamma(1.5));
    const gain = Float64Array.from({ length: neurons }, (_, n) => 0.05 + n / 10); // low to high reliability
    const resp = new Float64Array(trials * neurons);
    const pred = new Float64Array(trials * neurons);
    ids.forEach((img, t) => {
      for (let n = 0; n < neurons; n++) {
        const lam = gain[n] * rate[img * neurons + n];
        resp[t * neurons + n] = rng.poisson(lam);
        pred[t * neurons + n] = lam * (0.8 + 0.4 * rng.uniform()); // imperfect prediction
      }
    });
    const dir = mkdtempSync(join(tmpdir(), 'v1x-metrics-'));
    try {
      writeFileSync(join(dir, 'pred.npy'), writeNpy({ dtype: 'float64', shape: [trials, neurons], data: pred }));
      writeFileSync(join(dir, 'resp.npy'), writeNpy({ dtype: 'float64', shape: [trials, neurons], data: resp }));
      writeFileSync(
        join(dir, 'ids.npy'),
        writeNpy({ dtype: 'int64', shape: [trials], data: BigInt64Array.from(ids.map(BigInt)) }),
      );
      const r = spawnSync(py.python!, [join(__dirname, 'numpy_metrics.py'), dir], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const ref = JSON.parse(r.stdout) as Record<string, number[] | number>;
      const ours = evaluate({ predictions: pred, responses: resp, neurons, imageIds: ids });
      const close = (a: ArrayLike<number>, b: number[]) => {
        expect(a.length).toBe(b.length);
        for (let i = 0; i < b.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-10);
      };
      close(ours.perNeuron.testCorrelation, ref.test_correlation as number[]);
      close(ours.perNeuron.correlationToAverage, ref.correlation_to_average as number[]);
      close(ours.perNeuron.oracle!, ref.oracle as number[]);
      close(ours.perNeuron.fev!, ref.fev as number[]);
      close(ours.perNeuron.feve!, ref.feve as number[]);
      expect(ours.summary.fraction_oracle!).toBeCloseTo(ref.fraction_oracle as number, 10);
      expect(ours.summary.feve!).toBeCloseTo(ref.feve_mean as number, 10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
