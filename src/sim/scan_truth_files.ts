/**
 * The ground truth of a model-simulated scan as files beside it, in the layout of
 * test/fixtures/sim-scan/static-sim-a-truth/: true_rates, response_scale, oracle_jackknife,
 * selected_neurons, true_grid, true_features (when the caller knows them) and truth.json; for a cell-type
 * population also cell_types (int64, as the scan's meta/neurons/cell_types.npy), true_rf_px (the positions in
 * image pixels, as v1_truth.ts writes them) and true_bias.
 */
import type { HostArray } from '../io/host_tensor';
import { writeNpy } from '../io/npy';
import type { ZipInput } from '../io/zip_archive';
import { CALCIUM_NOISE_SD, type SimulatedScan } from './simulate_scan';

export interface ReadoutTruth {
  /** Index of each simulated neuron among the ground-truth readout's neurons. */
  selectedNeurons?: ArrayLike<number>;
  /** Eval positions (neurons, 2), (x, y) in grid_sample units. */
  grid?: Float32Array;
  /** Feature vectors (neurons, channels). */
  features?: Float32Array;
  channels?: number;
  /** Cell type 0..K-1 of each neuron (cell_types.npy, int64). */
  cellTypes?: ArrayLike<number>;
  /** The positions in image pixels (neurons, 2), (x = column, y = row) (true_rf_px.npy). */
  rfPx?: Float32Array;
  /** The readout's bias per neuron (true_bias.npy). */
  bias?: Float32Array;
  /** Anything else worth recording in truth.json (model file, readout key, ...). */
  about?: Record<string, unknown>;
}

/** Files under `<dir>/` (default `<scan name>-truth/`), directory entry first. */
export function scanTruthFiles(
  sim: SimulatedScan,
  readout: ReadoutTruth = {},
  dir = `${sim.scan.name}-truth`,
): ZipInput[] {
  const { scan, truth } = sim;
  const N = scan.neurons;
  const T = scan.tiers.length;
  const root = `${dir}/`;
  const f32 = (shape: number[], data: ArrayLike<number>): HostArray => ({
    dtype: 'float32',
    shape,
    data: Float32Array.from(data),
  });
  const files: ZipInput[] = [{ name: root, data: new Uint8Array(0) }];
  const add = (name: string, a: HostArray) => files.push({ name: root + name, data: writeNpy(a) });
  add('true_rates.npy', f32([T, N], truth.trueRates));
  add('response_scale.npy', f32([N], truth.responseScale));
  add('oracle_jackknife.npy', f32([N], truth.oracle));
  if (readout.selectedNeurons) {
    add('selected_neurons.npy', {
      dtype: 'int64',
      shape: [N],
      data: BigInt64Array.from(Array.from(readout.selectedNeurons, (v) => BigInt(v))),
    });
  }
  if (readout.grid) add('true_grid.npy', f32([N, 2], readout.grid));
  if (readout.features && readout.channels) add('true_features.npy', f32([N, readout.channels], readout.features));
  if (readout.cellTypes) {
    const types = BigInt64Array.from(Array.from(readout.cellTypes, (v) => BigInt(v)));
    add('cell_types.npy', { dtype: 'int64', shape: [N], data: types });
  }
  if (readout.rfPx) add('true_rf_px.npy', f32([N, 2], readout.rfPx));
  if (readout.bias) add('true_bias.npy', f32([N], readout.bias));

  const sorted = Array.from(truth.oracle)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.round(p * (sorted.length - 1))];
  const count = (t: string) => scan.tiers.filter((x) => x === t).length;
  const json = {
    name: scan.name,
    seed: truth.seed,
    n_neurons: N,
    trials: { train: count('train'), validation: count('validation'), test: count('test') },
    unique_images: { train: truth.trials.train, validation: truth.trials.validation, test: truth.trials.testImages },
    test_repeats: truth.trials.testRepeats,
    noise:
      truth.noise === 'poisson'
        ? 'Poisson(gain * rate) / response_scale'
        : truth.noise === 'calcium'
          ? `(Poisson(gain * rate) + Normal(0, ${CALCIUM_NOISE_SD}^2)) / response_scale (dF/F-like, negative values)`
          : 'Gamma(shape = gain * rate, scale 1) / response_scale',
    gain: truth.gain,
    calibration_median_oracle: truth.medianOracle,
    image_stats_train: { mean: truth.imageMean, std: truth.imageStd },
    cell_motor_coordinates: { xy: '300 * grid + offset', offset_um: truth.offsetUm, depth_um: [200, 300] },
    oracle_jackknife_test: sorted.length
      ? {
          mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
          p5: q(0.05),
          p25: q(0.25),
          median: q(0.5),
          p75: q(0.75),
          p95: q(0.95),
          min: sorted[0],
          max: sorted[sorted.length - 1],
        }
      : null,
    ...readout.about,
  };
  files.push({ name: `${root}truth.json`, data: new TextEncoder().encode(JSON.stringify(json, null, 2) + '\n') });
  return files;
}
