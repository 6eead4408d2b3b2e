/** A small synthetic readout problem on random "core outputs" (no core, no scan): fast trainer tests. */

import type { TrainableReadout } from '../../src/model/readout_types';
import { FeatureCache } from '../../src/train/readout/feature_cache';
import { initReadout, REFERENCE_READOUT } from '../../src/train/readout/readout_init';
import { predictTier, type TrainData } from '../../src/train/readout/trainer';
import { Rng } from '../../src/util/rng';

export interface Synthetic {
  data: TrainData;
  fresh: () => TrainableReadout;
  truth: TrainableReadout;
}

export async function syntheticProblem(
  opts: {
    seed?: number;
    neurons?: number;
    train?: number;
    validation?: number;
    precision?: 'float32' | 'bfloat16';
  } = {},
): Promise<Synthetic> {
  const seed = opts.seed ?? 5,
    N = opts.neurons ?? 20,
    nTrain = opts.train ?? 150,
    nVal = opts.validation ?? 50;
  const H = 6,
    W = 10,
    C = 4;
  const rng = new Rng(seed);
  const T = nTrain + nVal;
  const cache = new FeatureCache(
    { height: H, width: W, channels: C },
    opts.precision ?? 'float32',
    Int32Array.from({ length: T }, (_, i) => i),
    T,
    64,
  );
  for (let t = 0; t < T; t++)
    cache.store(
      t,
      Float32Array.from({ length: H * W * C }, () => Math.max(0, rng.normal())),
    );
  const coords = Float64Array.from({ length: N * 3 }, () => rng.range(-200, 200));
  const init = (s: number): TrainableReadout =>
    initReadout(
      {
        neurons: N,
        channels: C,
        meanActivity: new Float32Array(N).fill(1),
        cellMotorCoordinates: { data: coords, columns: 3 },
      },
      REFERENCE_READOUT,
      s,
    );
  const truth = init(seed + 1000);
  for (let i = 0; i < truth.features.length; i++) truth.features[i] = rng.range(-0.5, 1);
  const trials = Int32Array.from({ length: T }, (_, i) => i);
  const rates = await predictTier(truth, cache, trials);
  const responses = Float32Array.from(rates, (r) => rng.poisson(r));
  const data: TrainData = {
    cache,
    neurons: N,
    datasetTrials: T,
    train: { trials: trials.slice(0, nTrain), responses: responses.slice(0, nTrain * N) },
    validation: { trials: trials.slice(nTrain), responses: responses.slice(nTrain * N) },
  };
  return { data, fresh: () => init(seed), truth };
}
