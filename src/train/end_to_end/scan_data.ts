/**
 * A scan prepared for end-to-end training: the normalized images and responses of its train, validation and test
 * tiers as host arrays (the core trains, so nothing can be cached past the images), the readout's initialization
 * data, and the loss scale's dataset size. Images stay (trials, C, H, W) as the model's host API takes them.
 */
import { normalizedImages, normalizedResponses } from '../../io/scan/normalize';
import { tierIndices } from '../../io/scan/tiers';
import type { Scan } from '../../io/scan/types';
import { columnMeans } from '../../metrics/correlation';

export interface TierArrays {
  /** Scan positions of the trials. */
  trials: Int32Array;
  /** (n, C, H, W) z-scored images. */
  images: Float32Array;
  /** (n, N) responses in normalized units. */
  responses: Float32Array;
  /** frame_image_id of each trial (repeats share it; the oracle metrics need it). */
  imageIds: Float64Array;
}

export interface EndToEndScan {
  /** Readout data key. */
  key: string;
  name: string;
  neurons: number;
  imageShape: [number, number, number];
  train: TierArrays;
  validation: TierArrays;
  /** null when the scan has no test trials. */
  test: TierArrays | null;
  /** Trials of the whole dataset behind the train loader: the reference loss scale sqrt(datasetTrials / batch). */
  datasetTrials: number;
  /** Mean normalized training response per neuron: the readout bias' initial value. */
  meanActivity: Float64Array;
  cellMotorCoordinates?: { data: Float32Array; columns: number };
  unitIds: number[];
  /** Each neuron's match id across scans (meta/neurons/multi_match_id.npy), when the scan has them. */
  matchIds?: number[];
}

export interface EndToEndScanOptions {
  /** Readout key; default the scan's data key. */
  key?: string;
  /** Train on these trials (scan positions) instead of the whole train tier (e.g. a training-set-size subset). */
  trainTrials?: Int32Array;
  tiers?: { train: string; validation: string; test: string | null };
}

function tier(scan: Scan, trials: Int32Array): TierArrays {
  return {
    trials,
    images: normalizedImages(scan, trials),
    responses: normalizedResponses(scan, trials),
    imageIds: Float64Array.from(trials, (t) => scan.frameImageId[t]),
  };
}

export function endToEndScan(scan: Scan, opts: EndToEndScanOptions = {}): EndToEndScan {
  const tiers = opts.tiers ?? { train: 'train', validation: 'validation', test: 'test' };
  const trainTrials = opts.trainTrials ?? tierIndices(scan, tiers.train);
  const valTrials = tierIndices(scan, tiers.validation);
  if (trainTrials.length === 0) throw new Error(`scan ${scan.name} has no '${tiers.train}' trials to train on`);
  if (valTrials.length === 0)
    throw new Error(`scan ${scan.name} has no '${tiers.validation}' trials for early stopping`);
  const testTrials = tiers.test ? tierIndices(scan, tiers.test) : new Int32Array(0);
  const train = tier(scan, trainTrials);
  const N = scan.nNeurons;
  return {
    key: opts.key ?? scan.dataKey,
    name: scan.name,
    neurons: N,
    imageShape: scan.imageShape,
    train,
    validation: tier(scan, valTrials),
    test: testTrials.length > 0 ? tier(scan, testTrials) : null,
    datasetTrials: scan.nTrials,
    meanActivity: columnMeans(train.responses, N),
    cellMotorCoordinates: scan.cellMotorCoordinates
      ? { data: scan.cellMotorCoordinates, columns: scan.cellMotorCoordinates.length / N }
      : undefined,
    unitIds: scan.unitIds,
    matchIds: scan.neurons.multiMatchId,
  };
}
